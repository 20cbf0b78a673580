import { type AuditInput, actorOf, outcomeOf } from '../audit/events.ts'
import type { Principal } from '../auth/principal.ts'
import { requireProductionChange, requireScope } from '../auth/scopes.ts'
import type { Config } from '../config.ts'
import type { SealedRecord } from '../crypto/record.ts'
import { AppError } from '../errors.ts'
import { newEvent } from '../events/new-event.ts'
import { newId } from '../ids.ts'
import type { AuditSink } from '../jobs/reencrypt.ts'
import { activeKek, type KekRecord, kekStalenessMs, nextKekVersion } from '../kms/kek-records.ts'
import type { KmsKekSpec } from '../kms/kek-validation.ts'
import type { KmsRotationStatus } from '../kms/rotation-status.ts'
import type { TenantKekResolver } from '../kms/tenant-keks.ts'
import type { Clock } from '../lib/clock.ts'
import type { KekJob, KekJobStore } from '../storage/kek-jobs.ts'
import type { KekStore } from '../storage/kek-store.ts'
import { describeEncryption, describeJob } from './encryption-view.ts'
import { describeKekRotation } from './kek-rotation.ts'
import { buildKekVersion, type EncryptionInput, sameKek } from './kek-version.ts'
import type { RekeyingService } from './rekeying.ts'

export type { EncryptionInput } from './kek-version.ts'

export interface EncryptionServiceDeps {
  keks: Pick<TenantKekResolver, 'records' | 'invalidate' | 'ttlInForce'>
  store: Pick<KekStore, 'rotate' | 'saveSettings' | 'restartJob'>
  jobs: Pick<KekJobStore, 'get'>
  validateKms(tenantId: string, spec: KmsKekSpec): Promise<void>
  /** Seals a raw key's material under the platform key. */
  sealMaterial(tenantId: string, version: number, material: Uint8Array): Promise<SealedRecord>
  kick(tenantId: string, jobId: string): void
  rekeying: Pick<RekeyingService, 'describe'>
  /** Told of each new active KEK version (raw material gets its reminder filed). */
  kekChanged?(active: KekRecord): Promise<void>
  /** AWS KMS keys: their automatic rotation status (never throws: unknown instead). */
  rotationStatus(record: KekRecord): Promise<KmsRotationStatus>
  config: Pick<Config, 'cache' | 'aws'>
  clock: Clock
  /** AUDIT HOOK: `encryption.update` goes here when it is connected. */
  audit?: AuditSink
  /** Told when a change queued its event (webhooks), so it goes out soon. */
  onEvent?: () => void
}

export interface RequestMeta {
  requestId?: string
  traceId?: string | undefined
  client?: { address?: string | null; userAgent?: string | null }
}

/**
 * A tenant's encryption settings: which KEK protects its data keys, and how long its data keys
 * may be cached. Changing the KEK validates the new one first (nothing changes if it fails),
 * then adds a KEK version, makes it the one new writes use, and starts the job that moves
 * existing data keys to it (jobs/reencrypt.ts).
 */
export function createEncryptionService(deps: EncryptionServiceDeps) {
  const { keks, config, clock } = deps
  const platformKeyId = config.aws.platformKeyId

  async function view(tenantId: string) {
    const records = await keks.records(tenantId, { fresh: true })
    const active = activeKek(records, tenantId, platformKeyId)
    const [job, rekey, kms] = await Promise.all([
      active.jobId ? deps.jobs.get(tenantId, active.jobId) : undefined,
      deps.rekeying.describe(tenantId),
      active.provider === 'aws-kms' ? deps.rotationStatus(active) : undefined,
    ])
    return {
      ...describeEncryption({
        tenantId,
        active,
        versions: records,
        job,
        ttlInForce: keks.ttlInForce(tenantId),
        serverTtlSeconds: config.cache.dekTtlSeconds,
      }),
      rekey,
      kekRotation: describeKekRotation({
        provider: active.provider,
        ...(kms ? { kms } : {}),
        ...(active.provider === 'raw'
          ? { raw: { setAt: active.createdAt, periodDays: rekey.periodDays, now: clock.now() } }
          : {}),
      }),
    }
  }

  function newJob(tenantId: string, targetVersion: number): KekJob {
    return {
      tenantId,
      jobId: newId('job', clock.now()),
      targetVersion,
      status: 'pending',
      createdAt: new Date(clock.now()).toISOString(),
      // Instances may use the old version for new writes until they see the new one.
      notBefore: clock.now() + kekStalenessMs(config.cache.recordStalenessMs),
      total: 0,
      done: 0,
      failed: 0,
      failures: [],
      pass: 0,
    }
  }

  function checkTtl(ttl: number | null | undefined) {
    if (typeof ttl === 'number' && ttl > config.cache.dekTtlSeconds) {
      throw new AppError(
        'validation_failed',
        `dataKeyCacheTtlSeconds may only lower the server's data-key cache TTL (${config.cache.dekTtlSeconds} s).`,
        {
          extra: {
            errors: [
              {
                field: 'dataKeyCacheTtlSeconds',
                message: `must be at most ${config.cache.dekTtlSeconds}`,
              },
            ],
          },
        },
      )
    }
  }

  return {
    async describe(principal: Principal) {
      requireScope(principal, 'org:read')
      return view(principal.tenantId)
    },

    async configure(principal: Principal, input: EncryptionInput, meta: RequestMeta = {}) {
      requireScope(principal, 'encryption:write')
      requireProductionChange(principal, 'the encryption key')
      const { tenantId } = principal
      const audit = (
        outcome: AuditInput['outcome'],
        details: Record<string, string | number | null>,
      ) =>
        deps.audit?.record({
          tenantId,
          action: 'encryption.update',
          actor: actorOf(principal),
          target: { type: 'encryption', id: tenantId },
          outcome,
          requestId: meta.requestId ?? null,
          traceId: meta.traceId ?? null,
          client: meta.client ?? null,
          details: { provider: input.provider, ...details },
        })
      const apply = async (): Promise<Record<string, string | number | null>> => {
        checkTtl(input.dataKeyCacheTtlSeconds)
        const records = await keks.records(tenantId, { fresh: true })
        const active = activeKek(records, tenantId, platformKeyId)
        const stored = records.some((r) => r.version === active.version)
        const ttl =
          input.dataKeyCacheTtlSeconds === undefined
            ? active.dataKeyCacheTtlSeconds
            : (input.dataKeyCacheTtlSeconds ?? undefined)

        if (sameKek(active, input, tenantId)) {
          if (ttl !== active.dataKeyCacheTtlSeconds)
            await deps.store.saveSettings(active, stored, ttl)
          // The same KEK again after its job failed (the cause fixed, say): try the job again.
          const last = active.jobId ? await deps.jobs.get(tenantId, active.jobId) : undefined
          if (last?.status === 'failed') {
            const job = newJob(tenantId, active.version)
            await deps.store.restartJob(active, job)
            deps.kick(tenantId, job.jobId)
          }
          keks.invalidate(tenantId)
          return { kekVersion: active.version, dataKeyCacheTtlSeconds: ttl ?? null }
        }

        const version = nextKekVersion(records)
        const next: KekRecord = { ...(await buildKekVersion(deps, tenantId, version, input)) }
        if (ttl !== undefined) next.dataKeyCacheTtlSeconds = ttl
        const job = newJob(tenantId, version)
        next.jobId = job.jobId
        const changed = newEvent(
          tenantId,
          'encryption.changed',
          {
            provider: input.provider,
            kekVersion: version,
            previousKekVersion: active.version,
            jobId: job.jobId,
          },
          clock.now(),
        )
        await deps.store.rotate({
          previous: active,
          previousStored: stored,
          next,
          job,
          events: [changed],
        })
        keks.invalidate(tenantId)
        deps.kick(tenantId, job.jobId)
        await deps.kekChanged?.(next)
        deps.onEvent?.()
        return { kekVersion: version, previousKekVersion: active.version, jobId: job.jobId }
      }
      let details: Record<string, string | number | null>
      try {
        details = await apply()
      } catch (error) {
        await audit(outcomeOf(error), {})
        throw error
      }
      await audit({ result: 'success' }, details)
      return view(tenantId)
    },

    async job(principal: Principal, jobId: string) {
      requireScope(principal, 'org:read')
      const job = await deps.jobs.get(principal.tenantId, jobId)
      if (!job) throw new AppError('not_found', 'No such re-encryption job.')
      return describeJob(job)
    },
  }
}

export type EncryptionService = ReturnType<typeof createEncryptionService>
