import type { AuditInput } from '../audit/events.ts'
import type { Clock } from '../auth/clock.ts'
import { isAppError } from '../errors.ts'
import { newEvent } from '../events/new-event.ts'
import type { TenantKekResolver } from '../kms/tenant-keks.ts'
import type { Logger } from '../logger.ts'
import type { JobFailure, KekJob, KekJobStore } from '../storage/kek-jobs.ts'
import type { KekStore } from '../storage/kek-store.ts'
import type { RewrapStore } from '../storage/rewrap-store.ts'
import { createRateLimiter, pause } from './pace.ts'
import { rewrapRecord } from './rewrap-record.ts'

/**
 * The online re-encryption job: moves every data key of a tenant to its new KEK version,
 * leaving value ciphertexts untouched, while reads and writes go on.
 *
 * It walks the tenant's key versions in passes, each a paged query for records not yet under
 * the target, saving its cursor and counts (and extending its lease) after every page, so a
 * job resumed elsewhere starts from the last saved page; records already moved are filtered
 * out, so nothing is wrapped twice. A pass that moved anything is followed, after the record
 * staleness bound (`graceMs`), by another, which catches writes made by instances that had
 * not yet seen the new version. Only when a whole pass finds nothing left are the old versions
 * retired; records it could not move are listed, and then nothing is retired.
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

export interface ReencryptionDeps {
  jobs: Pick<KekJobStore, 'save'>
  rewraps: RewrapStore
  kekStore: Pick<KekStore, 'retire'>
  keks: Pick<TenantKekResolver, 'records' | 'providerFor' | 'forRecord' | 'invalidate'>
  clock: Clock
  logger: Logger
  /** AUDIT HOOK: `encryption.job.start|finish|fail` go here when it is connected. */
  audit?: AuditSink
  /** Told when a job's end queued its event (webhooks), so it goes out soon. */
  onEvent?: () => void
  options: ReencryptionOptions
}

const MAX_LISTED_FAILURES = 500
const TRANSIENT = new Set(['kms_unavailable', 'kms_throttled', 'conflict', 'storage_unavailable'])
const MAX_TRIES = 4

export function createReencryption(deps: ReencryptionDeps) {
  const { jobs, rewraps, keks, clock, options } = deps

  return async function runJob(job: KekJob, owner: string, signal: AbortSignal): Promise<void> {
    const { tenantId, targetVersion: target } = job
    const log = deps.logger.child({ tenantId, jobId: job.jobId })
    const iso = () => new Date(clock.now()).toISOString()
    const save = () => jobs.save(job, owner, clock.now() + options.leaseMs)
    // A job has no caller to fail towards: an audit write that fails is logged, not thrown.
    const emit = (action: AuditInput['action'], outcome: AuditInput['outcome']) =>
      Promise.resolve()
        .then(() =>
          deps.audit?.record({
            tenantId,
            action,
            actor: { type: 'system', id: null, name: 'reencryption-job' },
            target: { type: 'job', id: job.jobId },
            outcome,
            details: {
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
      if (status !== 'superseded') Object.assign(job, await rewraps.count(tenantId, target))
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
      log.info({ status, done: job.done, failed: job.failed }, 're-encryption job ended')
      if (status === 'failed')
        emit('encryption.job.fail', { result: 'error', code: 'records_not_rewrapped' })
      else emit('encryption.job.finish', { result: 'success' })
    }

    await pause(job.notBefore - clock.now(), signal)
    if (signal.aborted) return
    // A job resumed after a crash may have moved records in its current pass before the
    // crash: one more pass is then needed to be sure nothing is left.
    let movedThisPass = job.startedAt !== undefined
    if (!job.startedAt) {
      Object.assign(job, { status: 'running', startedAt: iso(), pass: 1 })
      Object.assign(job, await rewraps.count(tenantId, target))
      await save()
      emit('encryption.job.start', { result: 'success' })
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
          const records = await keks.records(tenantId)
          const destination = records.find((r) => r.version === target)
          if (!destination) throw new Error(`KEK version ${target} vanished`)
          const outcome = await rewrapRecord(
            { rewraps, forRecord: keks.forRecord },
            { tenantId, keyId, version },
            keks.providerFor(destination),
          )
          if (outcome === 'gone') job.total = Math.max(0, job.total - 1)
          else job.done++
          if (outcome === 'rewrapped') movedThisPass = true
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
          if (!failures.has(id)) log.warn({ keyId, version, code }, 'record not re-wrapped')
          failures.set(id, { keyId, version, code })
          return
        }
      }
    }

    for (;;) {
      const current = await keks.records(tenantId, { fresh: true })
      if (current.find((r) => r.status === 'active')?.version !== target)
        return finish('superseded')
      const page = await rewraps.pendingPage(tenantId, target, job.cursor, options.batchSize)
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
        const retiring = current.filter((r) => r.version !== target && r.status === 'retiring')
        try {
          await deps.kekStore.retire(
            tenantId,
            retiring.map((r) => r.version),
            target,
            iso(),
          )
        } catch (error) {
          // The target stopped being the active version since the check above.
          if ((error as Error).name !== 'TransactionCanceledException') throw error
          return finish('superseded')
        } finally {
          keks.invalidate(tenantId)
        }
        return finish('finished')
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
