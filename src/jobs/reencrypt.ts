import type { AuditInput } from '../audit/events.ts'
import { isAppError } from '../errors.ts'
import { newEvent } from '../events/new-event.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { JobFailure, KekJob, KekJobStore } from '../storage/kek-jobs.ts'
import {
  type JobWork,
  type ReencryptWorkDeps,
  type RekeyWorkDeps,
  reencryptWork,
  rekeyWork,
} from './job-work.ts'
import { createRateLimiter, pause } from './pace.ts'

/**
 * The online background jobs over a tenant's key versions, while reads and writes go on:
 * re-encryption moves every data key to a new KEK version, leaving value ciphertexts
 * untouched; re-keying gives every value a fresh data key (see job-work.ts for both).
 *
 * It walks the tenant's key versions in passes, each a paged query for records not yet under
 * the target, saving its cursor and counts (and extending its lease) after every page, so a
 * job resumed elsewhere starts from the last saved page; records already moved are filtered
 * out, so nothing is wrapped twice. A pass that moved anything is followed, after the record
 * staleness bound (`graceMs`), by another, which catches writes made by instances that had
 * not yet seen the new version. Only when a whole pass finds nothing left does the job complete
 * (re-encryption then retires the old versions); records it could not move are listed, and
 * then the job fails instead.
 */
export interface ReencryptionOptions {
  recordsPerSecond: number
  /** The rate while the process is busy serving (see foreground.ts). */
  busyRecordsPerSecond?: number
  /** Whether to give way to foreground work right now. */
  yieldTo?: () => boolean
  parallel: number
  batchSize: number
  graceMs: number
  leaseMs: number
}

export interface AuditSink {
  record(input: AuditInput): unknown
}

export interface ReencryptionDeps extends ReencryptWorkDeps {
  jobs: Pick<KekJobStore, 'save'>
  /** How re-keying jobs open and seal values; without it they fail at once. */
  rekey?: Omit<RekeyWorkDeps, 'now'>
  clock: Clock
  logger: Logger
  /** `encryption.job.*` and `encryption.rekey.*` (start, finish, fail) go here. */
  audit?: AuditSink
  /** Told of each record moved or given up on, and of jobs starting and ending (metrics). */
  progress?: { moved(): void; failed(): void }
  /** Told when a job's end queued its event (webhooks), so it goes out soon. */
  onEvent?: () => void
  options: ReencryptionOptions
}

const MAX_LISTED_FAILURES = 500
const TRANSIENT = new Set(['kms_unavailable', 'kms_throttled', 'conflict', 'storage_unavailable'])
const MAX_TRIES = 4

export function createReencryption(deps: ReencryptionDeps) {
  const { jobs, clock, options } = deps
  const iso = () => new Date(clock.now()).toISOString()
  const workFor = (job: KekJob): JobWork => {
    if (job.kind !== 'rekey') return reencryptWork(deps, job)
    if (!deps.rekey) throw new Error('this instance cannot run re-keying jobs')
    return rekeyWork({ ...deps.rekey, now: iso }, job)
  }

  return async function runJob(job: KekJob, owner: string, signal: AbortSignal): Promise<void> {
    const { tenantId, targetVersion: target } = job
    const work = workFor(job)
    const log = deps.logger.child({ tenantId, jobId: job.jobId, kind: job.kind ?? 'reencrypt' })
    const save = () => jobs.save(job, owner, clock.now() + options.leaseMs)
    // A job has no caller to fail towards: an audit write that fails is logged, not thrown.
    const emit = (action: AuditInput['action'], outcome: AuditInput['outcome']) =>
      Promise.resolve()
        .then(() =>
          deps.audit?.record({
            tenantId,
            action,
            actor: { type: 'system', id: null, name: work.audit.actor },
            target: { type: 'job', id: job.jobId },
            outcome,
            details: {
              kind: job.kind ?? 'reencrypt',
              targetVersion: target,
              status: job.status,
              total: job.total,
              done: job.done,
              failed: job.failed,
            },
          }),
        )
        .catch((error: unknown) =>
          log.error({ action, error: (error as Error).message }, 'audit event lost'),
        )
    const finish = async (status: KekJob['status']) => {
      // Exact figures: a resumed page may have moved records the saved counts never saw.
      if (status !== 'superseded') Object.assign(job, await work.count())
      job.status = status
      job.finishedAt = iso()
      job.cursor = undefined
      // The webhook event is written with the job's end, in one transaction.
      const ended =
        status === 'failed' || status === 'finished'
          ? [
              newEvent(
                tenantId,
                status === 'failed' ? 'reencryption.failed' : 'reencryption.finished',
                {
                  jobId: job.jobId,
                  kekVersion: target,
                  total: job.total,
                  done: job.done,
                  failed: job.failed,
                },
                clock.now(),
              ),
            ]
          : []
      await jobs.save(job, owner, undefined, ended)
      if (ended.length) deps.onEvent?.()
      log.info({ status, done: job.done, failed: job.failed }, 'background job ended')
      if (status === 'failed')
        emit(work.audit.fail, { result: 'error', code: work.audit.failureCode })
      else emit(work.audit.finish, { result: 'success' })
    }

    await pause(job.notBefore - clock.now(), signal)
    if (signal.aborted) return
    // A job resumed after a crash may have moved records in its current pass before the
    // crash: one more pass is then needed to be sure nothing is left.
    let movedThisPass = job.startedAt !== undefined
    if (!job.startedAt) {
      Object.assign(job, { status: 'running', startedAt: iso(), pass: 1 })
      Object.assign(job, await work.count())
      await save()
      emit(work.audit.start, { result: 'success' })
    }
    const failures = new Map<string, JobFailure>(
      job.failures.map((f) => [`${f.keyId}#${f.version}`, f]),
    )
    const limit = createRateLimiter(options.recordsPerSecond, undefined, {
      ...(options.yieldTo ? { yieldTo: options.yieldTo } : {}),
      floorPerSecond: options.busyRecordsPerSecond ?? options.recordsPerSecond,
    })

    const moveOne = async (keyId: string, version: number) => {
      const id = `${keyId}#${version}`
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await work.move(keyId, version)
          if (outcome === 'gone') job.total = Math.max(0, job.total - 1)
          else job.done++
          if (outcome === 'moved') {
            movedThisPass = true
            deps.progress?.moved()
          }
          failures.delete(id)
          return
        } catch (error) {
          // Anything but an AppError is storage or the network: worth another try too.
          const code = isAppError(error) ? error.code : 'internal'
          const transient = TRANSIENT.has(code) || !isAppError(error)
          if (transient && attempt < MAX_TRIES && !signal.aborted) {
            await pause(250 * 2 ** attempt, signal)
            continue
          }
          if (!failures.has(id)) {
            log.warn({ keyId, version, code }, 'record not re-wrapped')
            deps.progress?.failed()
          }
          failures.set(id, { keyId, version, code })
          return
        }
      }
    }

    for (;;) {
      const current = await deps.keks.records(tenantId, { fresh: true })
      if (work.superseded(current)) return finish('superseded')
      const page = await work.page(job.cursor, options.batchSize)
      const queue = [...page.records]
      const worker = async () => {
        for (let next = queue.shift(); next && !signal.aborted; next = queue.shift()) {
          await limit(signal)
          if (signal.aborted) return
          await moveOne(next.keyId, next.version)
        }
      }
      await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker))
      // Stopped: like a crash, the page is not saved; whoever resumes redoes what is left of it.
      if (signal.aborted) return
      job.cursor = page.next
      job.failures = [...failures.values()].slice(0, MAX_LISTED_FAILURES)
      job.failed = failures.size
      job.total = Math.max(job.total, job.done + job.failed)
      if (job.cursor) {
        await save()
        continue
      }
      if (!movedThisPass) {
        if (failures.size > 0) return finish('failed')
        return finish(await work.complete(current, iso()))
      }
      job.pass++
      movedThisPass = false
      await save()
      await pause(options.graceMs, signal)
      if (signal.aborted) return
    }
  }
}

export type RunJob = ReturnType<typeof createReencryption>
