import type { AuditRecorder } from '../audit/writer.ts'
import type { AwsClients } from '../aws.ts'
import type { Config } from '../config.ts'
import type { DekCache } from '../crypto/dek-cache.ts'
import { openValue, sealValue } from '../crypto/envelope.ts'
import { createEncryptionService } from '../domain/encryption.ts'
import { createRawReminders } from '../domain/raw-reminders.ts'
import { createRekeyingService } from '../domain/rekeying.ts'
import type { ForegroundGauge } from '../jobs/foreground.ts'
import { createJobRunner } from '../jobs/job-runner.ts'
import { createReencryption } from '../jobs/reencrypt.ts'
import {
  activeKek,
  type KekRecord,
  kekStalenessMs,
  RAW_MATERIAL_KEY_ID,
} from '../kms/kek-records.ts'
import { validateKmsKek } from '../kms/kek-validation.ts'
import type { KeyProvider } from '../kms/key-provider.ts'
import { createKmsClientPool } from '../kms/kms-clients.ts'
import { kmsRotationStatus } from '../kms/rotation-status.ts'
import { createTenantKekResolver } from '../kms/tenant-keks.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { instrumentAwsClient } from '../metrics/aws-sdk.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { createKekJobStore } from '../storage/kek-jobs.ts'
import { createKekReminderStore } from '../storage/kek-reminders.ts'
import { createKekStore } from '../storage/kek-store.ts'
import { createRekeyScheduleStore } from '../storage/rekey-schedule.ts'
import { createRekeyStore } from '../storage/rekey-store.ts'
import { createRewrapStore } from '../storage/rewrap-store.ts'

export interface EncryptionWiring {
  config: Readonly<Config>
  aws: AwsClients
  clock: Clock
  logger: Logger
  audit: AuditRecorder
  metrics: Metrics | undefined
  dekCache: DekCache
  /** The platform KMS key, which wraps raw tenant key material. */
  platformKek: KeyProvider
  /** Whether requests keep the process busy: re-encryption gives way to them. */
  foreground: ForegroundGauge
  /** Told when a change queued an event (webhooks). */
  onEvent: () => void
}

/**
 * Bring your own key, wired (part of the composition root, deps.ts): each tenant's KEK
 * versions (docs/byok.md), the job that moves data keys to a new version, the reminders for
 * raw key material, scheduled re-keys, and the service behind /v1/org/encryption.
 */
export function buildEncryption({
  config,
  aws,
  clock,
  logger,
  audit,
  metrics,
  dekCache,
  platformKek,
  foreground,
  onEvent,
}: EncryptionWiring) {
  const table = config.aws.table
  const { doc } = aws
  const kmsClients = createKmsClientPool({
    base: aws.kms,
    region: config.aws.region,
    endpoint: config.aws.kmsEndpoint,
    stsEndpoint: config.aws.stsEndpoint,
    clock,
    ...(metrics ? { onClient: (client) => instrumentAwsClient(client, metrics.aws.kms) } : {}),
  })
  const kekStore = createKekStore({ doc, table })
  const keks = createTenantKekResolver({
    store: kekStore,
    clients: kmsClients,
    dekCache,
    platformKeyId: config.aws.platformKeyId,
    platformRegion: config.aws.region,
    stalenessMs: kekStalenessMs(config.cache.recordStalenessMs),
    serverTtlSeconds: config.cache.dekTtlSeconds,
    clock,
    logger,
  })
  const kekJobs = createKekJobStore({ doc, table })
  const leaseMs = 30_000
  const rate = config.reencryption.recordsPerSecond
  const reencryption = createJobRunner({
    jobs: kekJobs,
    run: createReencryption({
      ...(metrics ? { progress: metrics.reencryption } : {}),
      jobs: kekJobs,
      rewraps: createRewrapStore({ doc, table }),
      kekStore,
      keks,
      clock,
      logger,
      audit,
      // Re-keying opens each value straight through its KEK (the DEK it drops is not worth
      // caching) and seals it under the active KEK with a new data key.
      rekey: {
        rekeys: createRekeyStore({ doc, table }),
        open: (place, sealed) =>
          openValue({
            record: sealed,
            ...place,
            unwrap: async ({ wrapped, kek, context }) =>
              (await keks.forRecord(place.tenantId, kek)).unwrapDataKey(wrapped, context),
          }),
        seal: async (place, plaintext) =>
          sealValue({ provider: await keks.active(place.tenantId), plaintext, ...place }),
        replaced: (tenantId, wrapped) => dekCache.forget(tenantId, wrapped),
      },
      onEvent,
      options: {
        recordsPerSecond: rate,
        // While requests keep the event loop busy, a tenth of the rate: reads come first.
        busyRecordsPerSecond: Math.max(1, Math.floor(rate / 10)),
        yieldTo: foreground.busy,
        parallel: 8,
        // A page takes about a second at the configured rate, well inside the lease.
        batchSize: Math.max(1, Math.min(25, rate)),
        // A key record read before it was re-wrapped may be served from memory for the
        // staleness bound, plus however long a slow request takes to unwrap it.
        graceMs: kekStalenessMs(config.cache.recordStalenessMs) + 2000,
        leaseMs,
      },
    }),
    clock,
    logger,
    leaseMs,
    pollMs: 15_000,
  })
  // Raw key material cannot rotate itself: its owner is reminded before its period ends.
  const rawReminders = createRawReminders({
    reminders: createKekReminderStore({ doc, table }),
    keks,
    clock,
    logger,
    audit,
  })
  // A reminder that cannot be filed is logged; the change that asked for it stands.
  const trackReminder = (record: KekRecord, periodDays: number) =>
    rawReminders.track(record, periodDays).catch((error: unknown) => {
      logger.warn(
        { tenantId: record.tenantId, error: (error as Error).message },
        'raw key material reminder not filed',
      )
    })
  const rekeying = createRekeyingService({
    schedules: createRekeyScheduleStore({ doc, table }),
    jobs: kekJobs,
    keks,
    kick: (tenantId, jobId) => reencryption.kick(tenantId, jobId),
    periodChanged: async (tenantId, periodDays) =>
      trackReminder(
        activeKek(
          await keks.records(tenantId, { fresh: true }),
          tenantId,
          config.aws.platformKeyId,
        ),
        periodDays,
      ),
    config,
    clock,
    logger,
    audit,
  })
  const encryption = createEncryptionService({
    keks,
    store: kekStore,
    jobs: kekJobs,
    validateKms: (tenantId, spec) =>
      validateKmsKek(kmsClients, tenantId, spec, { allowedRegions: config.kms.allowedRegions }),
    sealMaterial: (tenantId, version, material) =>
      sealValue({
        provider: platformKek,
        plaintext: material,
        tenantId,
        keyId: RAW_MATERIAL_KEY_ID,
        version,
      }),
    kick: (tenantId, jobId) => reencryption.kick(tenantId, jobId),
    rekeying,
    rotationStatus: (record) => kmsRotationStatus(kmsClients, record, logger),
    kekChanged: async (record) =>
      trackReminder(record, (await rekeying.describe(record.tenantId)).periodDays),
    config,
    clock,
    audit,
    onEvent,
  })
  return { keks, reencryption, rawReminders, rekeying, encryption }
}
