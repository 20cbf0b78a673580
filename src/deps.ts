import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { DescribeKeyCommand } from '@aws-sdk/client-kms'
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
import { createValueCipher, platformOnlyResolver } from './crypto/value-cipher.ts'
import { createAccountService } from './domain/accounts.ts'
import { createValueReader } from './domain/key-values.ts'
import { createKeyService } from './domain/keys.ts'
import { createOrganizationService } from './domain/organizations.ts'
import { createTokenService } from './domain/tokens.ts'
import { createAwsKmsProvider } from './kms/aws-kms.ts'
import type { Logger } from './logger.ts'
import { createAccountRepository } from './storage/accounts.ts'
import { createKeyRepository, type KeyRecord } from './storage/keys-repo.ts'
import { createLastUsedTracker } from './storage/last-used.ts'
import { createLoginThrottle } from './storage/login-throttle.ts'
import { createMockSecretSource } from './storage/mock-secret.ts'
import { createRecordCache } from './storage/record-cache.ts'
import { createEnvelopeSigningKeySealer, createSigningKeyStore } from './storage/signing-keys.ts'
import { createTokenStatusReader, type TokenStatus } from './storage/token-status.ts'
import { createTokenRepository } from './storage/tokens.ts'

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
  const audit = createAuditRecorder({ mode: config.audit.mode, store: auditStore, clock, logger })
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
  const cipher = createValueCipher({ keks: platformOnlyResolver(platformKek), dekCache })
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
  const reveal = createValueReader({
    keyService,
    keys: keyRepository,
    cipher,
    mockSecret: createMockSecretSource({ doc, table, configured: config.mockSecret }),
    config,
    lastUsed,
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
    keyService,
    reveal,
    tokens: createTokenService({ tokens: tokenRepository, ring, config, clock, onRevoked }),
    organizations: createOrganizationService({
      accounts,
      clock,
      config,
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
