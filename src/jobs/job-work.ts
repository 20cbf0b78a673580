import type { AuditAction } from '../audit/events.ts'
import type { KekRecord } from '../kms/kek-records.ts'
import type { TenantKekResolver } from '../kms/tenant-keks.ts'
import type { KekJob } from '../storage/kek-jobs.ts'
import type { KekStore } from '../storage/kek-store.ts'
import type { RekeyStore } from '../storage/rekey-store.ts'
import type { PendingRecord, RewrapStore } from '../storage/rewrap-store.ts'
import { type RekeyRecordDeps, rekeyRecord } from './rekey-record.ts'
import { rewrapRecord } from './rewrap-record.ts'

/**
 * What one kind of job does to a tenant's key versions; jobs/reencrypt.ts runs either kind
 * through the same paced, leased, resumable passes.
 */
export interface JobWork {
  /** Its audit events, the system actor they name, and the code of a failed job. */
  audit: {
    start: AuditAction
    finish: AuditAction
    fail: AuditAction
    actor: string
    failureCode: string
  }
  count(): Promise<{ total: number; done: number }>
  page(
    cursor: string | undefined,
    limit: number,
  ): Promise<{ records: PendingRecord[]; next?: string }>
  /** `moved`: written now; `current`: nothing to do; `gone`: the version was deleted. */
  move(keyId: string, version: number): Promise<'moved' | 'current' | 'gone'>
  /** Checked before every page, with the tenant's KEK records read fresh. */
  superseded(current: KekRecord[]): boolean
  /** After a pass that found nothing left: wrap up, or find the job superseded after all. */
  complete(current: KekRecord[], at: string): Promise<'finished' | 'superseded'>
}

export interface ReencryptWorkDeps {
  rewraps: RewrapStore
  kekStore: Pick<KekStore, 'retire'>
  keks: Pick<TenantKekResolver, 'records' | 'providerFor' | 'forRecord' | 'invalidate'>
}

/** Moves every data key to the job's target KEK version, then retires the older versions. */
export function reencryptWork(deps: ReencryptWorkDeps, job: KekJob): JobWork {
  const { tenantId, targetVersion: target } = job
  const { rewraps, keks } = deps
  return {
    audit: {
      start: 'encryption.job.start',
      finish: 'encryption.job.finish',
      fail: 'encryption.job.fail',
      actor: 'reencryption-job',
      failureCode: 'records_not_rewrapped',
    },
    count: () => rewraps.count(tenantId, target),
    page: (cursor, limit) => rewraps.pendingPage(tenantId, target, cursor, limit),
    async move(keyId, version) {
      const destination = (await keks.records(tenantId)).find((r) => r.version === target)
      if (!destination) throw new Error(`KEK version ${target} vanished`)
      const outcome = await rewrapRecord(
        { rewraps, forRecord: keks.forRecord },
        { tenantId, keyId, version },
        keks.providerFor(destination),
      )
      return outcome === 'rewrapped' ? 'moved' : outcome
    },
    superseded: (current) => current.find((r) => r.status === 'active')?.version !== target,
    async complete(current, at) {
      const retiring = current.filter((r) => r.version !== target && r.status === 'retiring')
      try {
        const retired = await deps.kekStore.retire(
          tenantId,
          retiring.map((r) => r.version),
          target,
          at,
        )
        // Refused: the target stopped being the active version since the check above.
        return retired ? 'finished' : 'superseded'
      } finally {
        keks.invalidate(tenantId)
      }
    },
  }
}

export interface RekeyWorkDeps extends Omit<RekeyRecordDeps, 'records'> {
  rekeys: RekeyStore
  now(): string
}

/**
 * Gives every value sealed before the job was filed a fresh data key under the active KEK.
 * A change of KEK meanwhile does not stop it: each record is sealed under whatever KEK is
 * active when it is reached, and the re-encryption job of that change moves the rest.
 */
export function rekeyWork(deps: RekeyWorkDeps, job: KekJob): JobWork {
  const { tenantId } = job
  const before = job.sealedBefore ?? job.createdAt
  const { rekeys, ...crypto } = deps
  return {
    audit: {
      start: 'encryption.rekey.start',
      finish: 'encryption.rekey.finish',
      fail: 'encryption.rekey.fail',
      actor: 'rekey-job',
      failureCode: 'records_not_rekeyed',
    },
    count: () => rekeys.count(tenantId, before),
    page: (cursor, limit) => rekeys.pendingPage(tenantId, before, cursor, limit),
    async move(keyId, version) {
      const outcome = await rekeyRecord(
        { ...crypto, records: rekeys },
        { tenantId, keyId, version },
        { before, now: deps.now },
      )
      return outcome === 'rekeyed' ? 'moved' : outcome
    },
    superseded: () => false,
    complete: async () => 'finished',
  }
}
