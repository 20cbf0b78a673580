import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { DescribeKeyCommand } from '@aws-sdk/client-kms'
import { createTokenIdentifier } from './audit/token-identity.ts'
import type { AwsClients } from './aws.ts'
import { watchOutages } from './aws-outages.ts'
import type { Config } from './config.ts'
import { createDekCache } from './crypto/dek-cache.ts'
import { buildAudit } from './deps/audit.ts'
import { buildAuthentication } from './deps/authentication.ts'
import { buildEncryption } from './deps/encryption.ts'
import { buildKeys } from './deps/keys.ts'
import { buildPeople } from './deps/people.ts'
import { buildWebhooks } from './deps/webhooks.ts'
import { buildWorkloadIdentity } from './deps/workload-identity.ts'
import { createOrganizationService } from './domain/organizations.ts'
import type { ResolveTxt } from './domain/sso-settings.ts'
import { createTokenService } from './domain/tokens.ts'
import { createTrustRelationshipService } from './domain/trust/relationships.ts'
import { createUsageReport } from './domain/usage.ts'
import { createForegroundGauge } from './jobs/foreground.ts'
import { createTicker } from './jobs/ticker.ts'
import { createAwsKmsProvider } from './kms/aws-kms.ts'
import { kmsOutage } from './kms/unavailable.ts'
import { type Clock, systemClock } from './lib/clock.ts'
import type { Logger } from './logger.ts'
import { createMailer, type Mailer } from './mail/mailer.ts'
import { instrumentAwsClient } from './metrics/aws-sdk.ts'
import { createMetrics } from './metrics/metrics.ts'
import { createOutboundFetch } from './net/outbound.ts'
import { createOutageLog } from './outage-log.ts'
import { createAccountRepository } from './storage/accounts.ts'
import { createIdempotencyStore } from './storage/idempotency.ts'
import { createEnvelopeResponseSealer } from './storage/idempotency-sealer.ts'
import { createMemberRepository } from './storage/members.ts'
import { createOrgPurge } from './storage/org-purge.ts'
import { createTokenRepository } from './storage/tokens.ts'
import { storageOutage } from './storage/unavailable.ts'

export interface DepsOptions {
  clock?: Clock
  /** How TXT records are read when an organization proves a domain (tests pass a stub). */
  resolveTxt?: ResolveTxt
  /** Outgoing mail; by default SMTP from the configuration (or none). */
  mailer?: Mailer
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
  { clock = systemClock, mailer = createMailer(config), resolveTxt }: DepsOptions = {},
) {
  const table = config.aws.table
  const { doc } = aws
  // Outages answer 503 with their codes and are logged once down and once back.
  watchOutages(aws.dynamodb, {
    log: createOutageLog({ dependency: 'storage', logger, clock }),
    outage: storageOutage,
  })
  watchOutages(aws.kms, {
    log: createOutageLog({ dependency: 'kms', logger, clock }),
    outage: kmsOutage,
  })
  // Collected only when they are served (KEYSTASH_METRICS_PORT): otherwise nothing is counted.
  // Every AWS call is counted where the SDK sends it; the document client shares the stack.
  const metrics = config.metrics ? createMetrics() : undefined
  if (metrics) {
    instrumentAwsClient(aws.dynamodb, metrics.aws.dynamodb)
    instrumentAwsClient(aws.kms, metrics.aws.kms)
  }
  const platformKek = createAwsKmsProvider({
    client: aws.kms,
    keyId: config.aws.platformKeyId,
    kek: { provider: 'platform', keyId: config.aws.platformKeyId, version: 1 },
  })

  const accounts = createAccountRepository({ doc, table })
  const tokenRepository = createTokenRepository({ doc, table })
  const memberRepository = createMemberRepository({ doc, table })
  // Who is calling: the signing key ring, token statuses within the staleness bound, rate limits.
  const { ring, lastUsed, limiter, rateExchange, statusCache, authenticator } = buildAuthentication(
    { doc, table, config, clock, logger, metrics, platformKek },
  )
  const onRevoked = authenticator.forget

  // The audit trail: `audit.record(...)` for every service, `auditLog` for the /v1/audit routes.
  const { audit, auditLog } = buildAudit({ doc, table, config, clock, logger, metrics })

  const outbound = createOutboundFetch(config.outbound)
  // Webhooks (endpoints, sealed secrets, the outbox and its delivery) and due-date reminders.
  const { webhooks, webhookRepository, webhookSecrets, outbox, reminders } = buildWebhooks({
    doc,
    table,
    clock,
    logger,
    config,
    platformKek,
    outbound,
  })

  const dekCache = createDekCache({
    ttlSeconds: config.cache.dekTtlSeconds,
    maxEntries: config.cache.dekMaxEntries,
  })

  // Bring your own key: each tenant's KEK versions (docs/byok.md), the job that moves data
  // keys to a new version, and the service behind /v1/org/encryption.
  const foreground = createForegroundGauge()
  const { keks, reencryption, rawReminders, rekeying, encryption } = buildEncryption({
    config,
    aws,
    clock,
    logger,
    audit,
    metrics,
    dekCache,
    platformKek,
    foreground,
    onEvent: outbox.kick,
  })
  // Keys and their values: the record cache, the cipher (through the data-key cache), usage.
  const { keyService, keyCache, reveal, usage } = buildKeys({
    doc,
    table,
    config,
    clock,
    logger,
    keks,
    dekCache,
    lastUsed,
    onEvent: outbox.kick,
  })

  metrics?.watch({
    dekCache: dekCache.stats,
    recordCaches: { token_status: statusCache.stats, key: keyCache.stats },
    auditPending: () => audit.pending,
  })

  // People: accounts, second factors, single sign-on, device login, members, invitations.
  const people = buildPeople({
    doc,
    table,
    config,
    clock,
    logger,
    ring,
    platformKek,
    accounts,
    members: memberRepository,
    tokens: tokenRepository,
    webhooks: webhookRepository,
    audit,
    outbound,
    mailer,
    resolveTxt,
    onRevoked,
    onChanged: () => statusCache.clear(),
  })

  // Workload identity federation: trust relationships and the token exchange.
  const { trustRelationshipRepository, exchangeToken } = buildWorkloadIdentity({
    doc,
    table,
    config,
    clock,
    outbound,
    accounts,
    members: memberRepository,
    tokens: tokenRepository,
    ring,
    lastUsed,
    limiter,
  })

  return {
    config,
    logger,
    clock,
    metrics,
    limiter,
    /** Start with `rateExchange.start()` (main.ts) when several instances share the table. */
    rateExchange,
    webhooks,
    webhookSecrets,
    outbox,
    reminders,
    ring,
    authenticator,
    lastUsed,
    audit,
    auditLog,
    identifyToken: createTokenIdentifier(ring),
    ...people,
    /** The organization is read with each token's status: a policy change drops them here. */
    onMfaPolicyChanged: () => statusCache.clear(),
    mailer,
    dekCache,
    keks,
    encryption,
    idempotency: {
      store: createIdempotencyStore({ doc, table, clock }),
      sealer: createEnvelopeResponseSealer(platformKek),
    },
    /** Start with `reencryption.start()` (main.ts); stop before exit. */
    reencryption,
    rekeying,
    rawReminders,
    /** Starts due re-keys every `KEYSTASH_REKEY_TICK_SECONDS`; `start()` in main.ts. */
    rekeyTicker:
      config.rekey.tickSeconds > 0
        ? createTicker({
            name: 'starting due re-keys',
            intervalMs: config.rekey.tickSeconds * 1000,
            tick: () => Promise.all([rekeying.startDue(), rawReminders.remindDue()]),
            logger,
          })
        : undefined,
    keyService,
    reveal,
    /** Reads per key and token per day: `usage.start()` (main.ts), `usage.stop()` on exit. */
    usage,
    usageReport: createUsageReport({ usage, clock }),
    /** Every request to a URL a tenant supplied goes through this fetch (net/outbound.ts). */
    outbound,
    trustRelationships: createTrustRelationshipService({
      relationships: trustRelationshipRepository,
      clock,
      // Which tokens a relationship issued is not kept in memory: forget every status.
      onDeleted: () => statusCache.clear(),
    }),
    exchangeToken,
    /** Whether the process is busy serving; background jobs give way while it is. */
    foreground,
    tokens: createTokenService({
      tokens: tokenRepository,
      ring,
      config,
      clock,
      onRevoked,
      defaultRateLimit: config.rateLimits.token,
      onEvent: outbox.kick,
    }),
    organizations: createOrganizationService({
      accounts,
      members: memberRepository,
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
