import { type AuditInput, actorOf, outcomeOf } from '../audit/events.ts'
import type { Principal } from '../auth/principal.ts'
import { requireScope } from '../auth/scopes.ts'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { AuditSink } from '../jobs/reencrypt.ts'
import { activeKek } from '../kms/kek-records.ts'
import type { TenantKekResolver } from '../kms/tenant-keks.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { type KekJob, type KekJobStore, OPEN_STATUSES } from '../storage/kek-jobs.ts'
import {
  DEFAULT_REKEY_PERIOD_DAYS,
  nextDue,
  type RekeySchedule,
  type RekeyScheduleStore,
} from '../storage/rekey-schedule.ts'
import type { RequestMeta } from './encryption.ts'
import { describeJob } from './encryption-view.ts'

export interface RekeyingDeps {
  schedules: Pick<RekeyScheduleStore, 'get' | 'listDue' | 'replace'>
  jobs: Pick<KekJobStore, 'get'>
  keks: Pick<TenantKekResolver, 'records'>
  kick(tenantId: string, jobId: string): void
  /** Told of a new period (raw key material's reminder follows it). */
  periodChanged?(tenantId: string, periodDays: number): Promise<void>
  config: Pick<Config, 'aws'>
  clock: Clock
  logger: Logger
  audit?: AuditSink
}

/**
 * Re-keying: every value of an organization gets a fresh data key, on a schedule (every
 * `periodDays`, 365 by default; 0 turns the schedule off) or on demand. The work itself is a
 * background job (jobs/job-work.ts, kind `rekey`); this files it.
 */
export function createRekeyingService(deps: RekeyingDeps) {
  const { schedules, clock } = deps
  const iso = (ms = clock.now()) => new Date(ms).toISOString()

  /** The stored schedule; an organization from before re-keying has none until `migrate`. */
  const scheduleOf = async (tenantId: string) => schedules.get(tenantId)

  async function openJob(schedule: RekeySchedule | undefined): Promise<KekJob | undefined> {
    const job = schedule?.jobId ? await deps.jobs.get(schedule.tenantId, schedule.jobId) : undefined
    return job && OPEN_STATUSES.includes(job.status) ? job : undefined
  }

  /** Files a re-keying job and moves the period on, unless `seen` changed meanwhile. */
  async function file(tenantId: string, seen: RekeySchedule | undefined) {
    const now = clock.now()
    const records = await deps.keks.records(tenantId, { fresh: true })
    const job: KekJob = {
      tenantId,
      jobId: newId('job', now),
      kind: 'rekey',
      targetVersion: activeKek(records, tenantId, deps.config.aws.platformKeyId).version,
      // Data keys made from this instant on are fresh already.
      sealedBefore: iso(now),
      status: 'pending',
      createdAt: iso(now),
      notBefore: now,
      total: 0,
      done: 0,
      failed: 0,
      failures: [],
      pass: 0,
    }
    const periodDays = seen?.periodDays ?? DEFAULT_REKEY_PERIOD_DAYS
    const dueAt = nextDue(now, periodDays)
    const next: RekeySchedule = {
      tenantId,
      periodDays,
      periodStart: iso(now),
      ...(dueAt ? { dueAt } : {}),
      jobId: job.jobId,
    }
    if (!(await schedules.replace(seen, next, job))) return undefined
    deps.kick(tenantId, job.jobId)
    return job
  }

  async function recorded<T>(
    principal: Principal,
    meta: RequestMeta,
    details: Record<string, string | number | null>,
    work: () => Promise<[T, Record<string, string | number | null>]>,
  ): Promise<T> {
    const audit = (outcome: AuditInput['outcome'], more: Record<string, string | number | null>) =>
      deps.audit?.record({
        tenantId: principal.tenantId,
        action: 'encryption.rekey.request',
        actor: actorOf(principal),
        target: { type: 'encryption', id: principal.tenantId },
        outcome,
        requestId: meta.requestId ?? null,
        client: meta.client ?? null,
        details: { ...details, ...more },
      })
    try {
      const [result, more] = await work()
      await audit({ result: 'success' }, more)
      return result
    } catch (error) {
      await audit(outcomeOf(error), {})
      throw error
    }
  }

  const changedMeanwhile = () =>
    new AppError('conflict', 'The re-keying schedule changed meanwhile; read it and retry.')

  return {
    /** What the encryption view shows of re-keying. */
    async describe(tenantId: string) {
      const schedule = await scheduleOf(tenantId)
      const job = schedule?.jobId ? await deps.jobs.get(tenantId, schedule.jobId) : undefined
      return {
        periodDays: schedule?.periodDays ?? DEFAULT_REKEY_PERIOD_DAYS,
        nextDueAt: schedule ? (schedule.dueAt ?? null) : null,
        lastRekeyAt: schedule?.jobId ? schedule.periodStart : null,
        job: job ? describeJob(job) : null,
      }
    },

    /** A forced re-key: now, whatever the schedule says; it also starts a new period. */
    async force(principal: Principal, meta: RequestMeta = {}) {
      requireScope(principal, 'encryption:write')
      return recorded(principal, meta, { trigger: 'forced' }, async () => {
        const seen = await scheduleOf(principal.tenantId)
        const running = await openJob(seen)
        if (running) {
          throw new AppError('conflict', 'A re-key is already running for this organization.', {
            extra: { jobId: running.jobId },
          })
        }
        const job = await file(principal.tenantId, seen)
        if (!job) throw changedMeanwhile()
        return [describeJob(job), { jobId: job.jobId }]
      })
    },

    /** Sets the period; the next re-key falls `periodDays` after the current period began. */
    async setPeriod(principal: Principal, periodDays: number, meta: RequestMeta = {}) {
      requireScope(principal, 'encryption:write')
      const { tenantId } = principal
      return recorded(principal, meta, { periodDays }, async () => {
        const seen = await scheduleOf(tenantId)
        const periodStart = seen?.periodStart ?? iso()
        const dueAt = nextDue(periodStart, periodDays)
        const next: RekeySchedule = {
          tenantId,
          periodDays,
          periodStart,
          ...(dueAt ? { dueAt } : {}),
          ...(seen?.jobId ? { jobId: seen.jobId } : {}),
        }
        if (!(await schedules.replace(seen, next))) throw changedMeanwhile()
        await deps.periodChanged?.(tenantId, periodDays)
        return [undefined, { nextDueAt: dueAt ?? null }]
      })
    },

    /**
     * Starts every re-key that is due: what a periodic tick calls, on every instance. Safe to
     * run anywhere, any number of times: each due date starts at most one job (see
     * storage/rekey-schedule.ts). A re-key still running when the next falls due only moves
     * the date on. Returns the jobs this call started.
     */
    async startDue(): Promise<KekJob[]> {
      const now = iso()
      const started: KekJob[] = []
      for (const tenantId of await schedules.listDue(now)) {
        try {
          const seen = await scheduleOf(tenantId)
          if (!seen?.dueAt || seen.dueAt > now) continue
          if (await openJob(seen)) {
            const dueAt = nextDue(now, seen.periodDays)
            await schedules.replace(seen, {
              ...seen,
              periodStart: now,
              ...(dueAt ? { dueAt } : {}),
            })
            continue
          }
          const job = await file(tenantId, seen)
          if (job) started.push(job)
        } catch (error) {
          deps.logger.warn(
            { tenantId, error: (error as Error).message },
            'starting a due re-key failed',
          )
        }
      }
      return started
    },
  }
}

export type RekeyingService = ReturnType<typeof createRekeyingService>
