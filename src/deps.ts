import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { DescribeKeyCommand } from '@aws-sdk/client-kms'
import { createOffThreadAuditRecorder } from './audit/off-thread.ts'
import { createAuditLog } from './audit/service.ts'
import { createAuditStore } from './audit/store.ts'
import { createTokenIdentifier } from './audit/token-identity.ts'
import { createAuditRecorder } from './audit/writer.ts'
import { createAuthenticator } from './auth/authenticate.ts'
import { type Clock, systemClock } from './auth/clock.ts'
import { lazySigningKeyRing } from './auth/lazy-ring.ts'
import { createSigningKeyRing } from './auth/signing-keys.ts'
import { createVerifiedTokenMemo } from './auth/token-memo.ts'
import type { AwsClients } from './aws.ts'
import type { Config } from './config.ts'
import { createDekCache } from './crypto/dek-cache.ts'
import { sealValue } from './crypto/envelope.ts'
import { createValueCipher } from './crypto/value-cipher.ts'
import { createAccountService } from './domain/accounts.ts'
import { createEncryptionService } from './domain/encryption.ts'
import { createValueReader } from './domain/key-values.ts'
import { createKeyService } from './domain/keys.ts'
import { createOrganizationService } from './domain/organizations.ts'
import { createTokenService } from './domain/tokens.ts'
import { createUsageReport } from './domain/usage.ts'
import { createForegroundGauge } from './jobs/foreground.ts'
import { createJobRunner } from './jobs/job-runner.ts'
import { createReencryption } from './jobs/reencrypt.ts'
import { createAwsKmsProvider } from './kms/aws-kms.ts'
import { kekStalenessMs, RAW_MATERIAL_KEY_ID } from './kms/kek-records.ts'
import { validateKmsKek } from './kms/kek-validation.ts'
import { createKmsClientPool } from './kms/kms-clients.ts'
import { createTenantKekResolver } from './kms/tenant-keks.ts'
import type { Logger } from './logger.ts'
import { createOutboundFetch } from './net/outbound.ts'
import { createAccountRepository } from './storage/accounts.ts'
import { createIdempotencyStore } from './storage/idempotency.ts'
import { createEnvelopeResponseSealer } from './storage/idempotency-sealer.ts'
import { createKekJobStore } from './storage/kek-jobs.ts'
import { createKekStore } from './storage/kek-store.ts'
import { createKeyRepository, type KeyRecord } from './storage/keys-repo.ts'
import { createLastUsedTracker } from './storage/last-used.ts'
import { createLoginThrottle } from './storage/login-throttle.ts'
import { createMockSecretSource } from './storage/mock-secret.ts'
import { createOrgPurge } from './storage/org-purge.ts'
import { createRecordCache } from './storage/record-cache.ts'
import { createRewrapStore } from './storage/rewrap-store.ts'
import { createEnvelopeSigningKeySealer, createSigningKeyStore } from './storage/signing-keys.ts'
import { createTokenStatusReader, type TokenStatus } from './storage/token-status.ts'
import { createTokenRepository } from './storage/tokens.ts'
import { createUsageCounter, noUsageCounter } from './storage/usage.ts'

export interface DepsOptions {
  clock?: Clock
}

/**
 * The one composition root: every service is built here, once, and handed to the app.
 * Building does no I/O (the signing key ring starts on first use), so tests and the OpenAPI
 * generator can build the real thing.
 */
export function buildDeps(
  config: Readonly<Config>,
  logger: Logger,
  aws: AwsClients,
  { clock = systemClock }: DepsOptions = {},
) {
  const table = config.aws.table
  const { doc } = aws
  const platformKek = createAwsKmsProvider({
    client: aws.kms,
    keyId: config.aws.platformKeyId,
    kek: { provider: 'platform', keyId: config.aws.platformKeyId, version: 1 },
  })

  const maxTokenLifetimeSeconds = Math.max(
    config.auth.sessionTtlSeconds,
    config.auth.tokenMaxTtlSeconds,
  )
  const ring = lazySigningKeyRing(
    () =>
      createSigningKeyRing({
        store: createSigningKeyStore({ doc, table }),
        sealer: createEnvelopeSigningKeySealer(platformKek),
        clock,
        maxTokenLifetimeSeconds,
      }),
    { clock, maxTokenLifetimeSeconds },
  )

  const accounts = createAccountRepository({ doc, table })
  const tokenRepository = createTokenRepository({ doc, table })
  const lastUsed = createLastUsedTracker({ doc, table, clock, logger })
  const statusCache = createRecordCache<TokenStatus>({
    stalenessMs: config.cache.recordStalenessMs,
    clock,
  })
  const authenticator = createAuthenticator({
    ring,
    verify: {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      clockToleranceSeconds: 30,
      memo: createVerifiedTokenMemo(),
    },
    readStatus: createTokenStatusReader({ doc, table }),
    statusCache,
    lastUsed,
    clock,
  })
  const onRevoked = authenticator.forget

  // The audit trail: `audit.record(...)` for every service, `auditLog` for the /v1/audit routes.
  const auditStore = createAuditStore({ doc, table, retentionDays: config.audit.retentionDays })
  const audit =
    config.audit.writer === 'thread' && config.audit.mode !== 'off'
      ? createOffThreadAuditRecorder({ config, clock, logger })
      : createAuditRecorder({ mode: config.audit.mode, store: auditStore, clock, logger })
  const auditLog = createAuditLog({
    store: auditStore,
    audit,
    clock,
    retentionDays: config.audit.retentionDays,
  })

  const dekCache = createDekCache({
    ttlSeconds: config.cache.dekTtlSeconds,
    maxEntries: config.cache.dekMaxEntries,
  })

  // Bring your own key: each tenant's KEK versions (docs/byok.md), the job that moves data
  // keys to a new version, and the service behind /v1/org/encryption.
  const kmsClients = createKmsClientPool({
    base: aws.kms,
    region: config.aws.region,
    endpoint: config.aws.kmsEndpoint,
    stsEndpoint: config.aws.stsEndpoint,
    clock,
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
  const foreground = createForegroundGauge()
  const rate = config.reencryption.recordsPerSecond
  const reencryption = createJobRunner({
    jobs: kekJobs,
    run: createReencryption({
      jobs: kekJobs,
      rewraps: createRewrapStore({ doc, table }),
      kekStore,
      keks,
      clock,
      logger,
      audit,
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
  const encryption = createEncryptionService({
    keks,
    store: kekStore,
    jobs: kekJobs,
    validateKms: (tenantId, spec) => validateKmsKek(kmsClients, tenantId, spec),
    sealMaterial: (tenantId, version, material) =>
      sealValue({
        provider: platformKek,
        plaintext: material,
        tenantId,
        keyId: RAW_MATERIAL_KEY_ID,
        version,
      }),
    kick: (tenantId, jobId) => reencryption.kick(tenantId, jobId),
    config,
    clock,
    audit,
  })
  const cipher = createValueCipher({ keks, dekCache })
  const keyRepository = createKeyRepository({ doc, table })
  const keyService = createKeyService({
    keys: keyRepository,
    cipher,
    cache: createRecordCache<KeyRecord | undefined>({
      stalenessMs: config.cache.recordStalenessMs,
      clock,
    }),
    config,
    clock,
  })
  const usage = createUsageCounter({ doc, table, clock, logger })
  const reveal = createValueReader({
    keyService,
    keys: keyRepository,
    cipher,
    mockSecret: createMockSecretSource({ doc, table, configured: config.mockSecret }),
    config,
    lastUsed,
    usage: config.usage.enabled ? usage : noUsageCounter,
  })

  return {
    config,
    logger,
    clock,
    ring,
    authenticator,
    lastUsed,
    audit,
    auditLog,
    identifyToken: createTokenIdentifier(ring),
    accounts: createAccountService({
      accounts,
      tokens: tokenRepository,
      throttle: createLoginThrottle({ doc, table, clock }),
      ring,
      config,
      clock,
      logger,
      onRevoked,
    }),
    dekCache,
    keks,
    encryption,
    idempotency: {
      store: createIdempotencyStore({ doc, table, clock }),
      sealer: createEnvelopeResponseSealer(platformKek),
    },
    /** Start with `reencryption.start()` (main.ts); stop before exit. */
    reencryption,
    keyService,
    reveal,
    /** Reads per key and token per day: `usage.start()` (main.ts), `usage.stop()` on exit. */
    usage,
    usageReport: createUsageReport({ usage, clock }),
    /** Every request to a URL a tenant supplied goes through this fetch (net/outbound.ts). */
    outbound: createOutboundFetch(config.outbound),
    /** Whether the process is busy serving; background jobs give way while it is. */
    foreground,
    tokens: createTokenService({ tokens: tokenRepository, ring, config, clock, onRevoked }),
    organizations: createOrganizationService({
      accounts,
      purge: createOrgPurge({ doc, table }),
      clock,
      config,
      logger,
      onChanged: () => statusCache.clear(),
    }),
    probes: {
      dynamodb: async () => {
        await aws.dynamodb.send(new DescribeTableCommand({ TableName: table }))
      },
      kms: async () => {
        await aws.kms.send(new DescribeKeyCommand({ KeyId: config.aws.platformKeyId }))
      },
    },
  }
}

export type Deps = ReturnType<typeof buildDeps>
