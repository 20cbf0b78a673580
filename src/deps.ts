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
import { relyingPartyOf } from './auth/passkeys.ts'
import { createSigningKeyRing } from './auth/signing-keys.ts'
import { createVerifiedTokenMemo } from './auth/token-memo.ts'
import { createTotpSeedSealer } from './auth/totp-seed-sealer.ts'
import type { AwsClients } from './aws.ts'
import { watchOutages } from './aws-outages.ts'
import type { Config } from './config.ts'
import { createDekCache } from './crypto/dek-cache.ts'
import { openValue, sealValue } from './crypto/envelope.ts'
import { createValueCipher } from './crypto/value-cipher.ts'
import { createAccountService } from './domain/accounts.ts'
import { createDeviceLogin } from './domain/device-login.ts'
import { createEncryptionService } from './domain/encryption.ts'
import { createInvitationService } from './domain/invitations.ts'
import { createValueReader } from './domain/key-values.ts'
import { createKeyService } from './domain/keys.ts'
import { createMemberTokens } from './domain/member-tokens.ts'
import { createMemberWebhooks } from './domain/member-webhooks.ts'
import { createMemberService } from './domain/members.ts'
import { createMfaService } from './domain/mfa.ts'
import { createOrganizationService } from './domain/organizations.ts'
import { createPasskeyFactor } from './domain/passkey-factor.ts'
import { createRawReminders } from './domain/raw-reminders.ts'
import { createRekeyingService } from './domain/rekeying.ts'
import { createSessionIssuer } from './domain/session-issuer.ts'
import { createSignupConfirmation } from './domain/signup-confirmation.ts'
import { createSsoLogin, passwordLoginCheck } from './domain/sso-login.ts'
import {
  createSsoSettingsService,
  type ResolveTxt,
  systemResolveTxt,
} from './domain/sso-settings.ts'
import { createTokenService } from './domain/tokens.ts'
import { createTokenExchange } from './domain/trust/exchange.ts'
import { createTrustRelationshipService } from './domain/trust/relationships.ts'
import { createSubjectTokenVerifier } from './domain/trust/subject-token.ts'
import { createUsageReport } from './domain/usage.ts'
import { createWebhookService } from './domain/webhooks.ts'
import { reportUnreachableKeks } from './events/kek-unreachable.ts'
import { createForegroundGauge } from './jobs/foreground.ts'
import { createJobRunner } from './jobs/job-runner.ts'
import { createPoller } from './jobs/poller.ts'
import { createReencryption } from './jobs/reencrypt.ts'
import { createReminderScheduler } from './jobs/reminder-scheduler.ts'
import { createTicker } from './jobs/ticker.ts'
import { createDeliveryWorker } from './jobs/webhook-delivery.ts'
import { createAwsKmsProvider } from './kms/aws-kms.ts'
import {
  activeKek,
  type KekRecord,
  kekStalenessMs,
  RAW_MATERIAL_KEY_ID,
} from './kms/kek-records.ts'
import { validateKmsKek } from './kms/kek-validation.ts'
import { createKmsClientPool } from './kms/kms-clients.ts'
import { kmsRotationStatus } from './kms/rotation-status.ts'
import { createTenantKekResolver } from './kms/tenant-keks.ts'
import { kmsOutage } from './kms/unavailable.ts'
import type { Logger } from './logger.ts'
import { createMailer, type Mailer } from './mail/mailer.ts'
import { instrumentAwsClient } from './metrics/aws-sdk.ts'
import { createMetrics } from './metrics/metrics.ts'
import { createOutboundFetch } from './net/outbound.ts'
import { createOutageLog } from './outage-log.ts'
import { createRateExchange } from './ratelimit/exchange.ts'
import { createRateLimiter, rateLimited } from './ratelimit/limiter.ts'
import { createSsoMembers } from './sso/account-members.ts'
import { createClientSecretSealer } from './sso/client-secret.ts'
import { createOidcClient } from './sso/oidc-client.ts'
import { createAccountRepository } from './storage/accounts.ts'
import { createDeliveryLog } from './storage/deliveries.ts'
import { createDeviceLoginRepository } from './storage/device-logins.ts'
import { createDueIndex } from './storage/due-index.ts'
import { createEventWriter } from './storage/events.ts'
import { createIdempotencyStore } from './storage/idempotency.ts'
import { createEnvelopeResponseSealer } from './storage/idempotency-sealer.ts'
import { createInvitationRepository } from './storage/invitations.ts'
import { createKekAlertStore } from './storage/kek-alerts.ts'
import { createKekJobStore } from './storage/kek-jobs.ts'
import { createKekReminderStore } from './storage/kek-reminders.ts'
import { createKekStore } from './storage/kek-store.ts'
import { createKeyRepository, type KeyRecord } from './storage/keys-repo.ts'
import { createLastUsedTracker } from './storage/last-used.ts'
import { createLoginThrottle } from './storage/login-throttle.ts'
import { createMemberRepository } from './storage/members.ts'
import { createMfaRepository } from './storage/mfa.ts'
import { createMockSecretSource } from './storage/mock-secret.ts'
import { createOrgPurge } from './storage/org-purge.ts'
import { createOutboxStore } from './storage/outbox-store.ts'
import { createPasskeyRepository } from './storage/passkeys.ts'
import { createRateCounterStore } from './storage/rate-counters.ts'
import { createRecordCache } from './storage/record-cache.ts'
import { createRekeyScheduleStore } from './storage/rekey-schedule.ts'
import { createRekeyStore } from './storage/rekey-store.ts'
import { createRewrapStore } from './storage/rewrap-store.ts'
import { createEnvelopeSigningKeySealer, createSigningKeyStore } from './storage/signing-keys.ts'
import { createPendingSignupStore } from './storage/signups.ts'
import { createSsoRepository } from './storage/sso.ts'
import { createTokenStatusReader, type TokenStatus } from './storage/token-status.ts'
import { createTokenRepository } from './storage/tokens.ts'
import { createTrustRelationshipRepository } from './storage/trust-relationships.ts'
import { storageOutage } from './storage/unavailable.ts'
import { createUsageCounter, noUsageCounter } from './storage/usage.ts'
import { createWebhookRepository } from './storage/webhooks.ts'
import { createWebhookUrlCheck } from './webhooks/check-url.ts'
import { createWebhookSecretSealer } from './webhooks/secret.ts'

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
  const memberRepository = createMemberRepository({ doc, table })
  const loginThrottle = createLoginThrottle({ doc, table, clock })
  // A second factor belongs to the person; its seed is sealed under the platform key.
  const mfa = createMfaService({
    mfa: createMfaRepository({ doc, table }),
    accounts,
    sealer: createTotpSeedSealer(platformKek),
    // The relying party is the public URL's host: links and origins never come from `Host`.
    passkeys: createPasskeyFactor({
      passkeys: createPasskeyRepository({ doc, table }),
      rp: relyingPartyOf(config.publicUrl),
      clock,
    }),
    throttle: loginThrottle,
    members: memberRepository,
    clock,
    issuer: config.publicUrl ? `Keystash (${new URL(config.publicUrl).host})` : 'Keystash',
  })
  const tokenRepository = createTokenRepository({ doc, table })
  const lastUsed = createLastUsedTracker({ doc, table, clock, logger })
  // Rate limits per token and organization: local buckets, counts exchanged through DynamoDB.
  const limiter = createRateLimiter({
    token: config.rateLimits.token,
    organization: config.rateLimits.organization,
    now: () => clock.now(),
    ...(metrics ? { onRefused: metrics.rateLimited } : {}),
  })
  const rateExchange = createRateExchange({
    limiter,
    store: createRateCounterStore({ doc, table, now: () => clock.now() }),
    intervalMs: config.rateLimits.syncMs,
    logger,
  })
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
    stalenessMs: config.cache.recordStalenessMs,
    lastUsed,
    clock,
    limiter,
    logger,
  })
  const onRevoked = authenticator.forget
  const ssoRepository = createSsoRepository({ doc, table })
  const accountService = createAccountService({
    accounts,
    members: memberRepository,
    tokens: tokenRepository,
    throttle: loginThrottle,
    ring,
    config,
    clock,
    logger,
    onRevoked,
    // "SSO required": the organization a password login would open refuses passwords.
    passwordAllowed: passwordLoginCheck(ssoRepository),
    mfa,
  })

  // The audit trail: `audit.record(...)` for every service, `auditLog` for the /v1/audit routes.
  const auditStore = createAuditStore({ doc, table, retentionDays: config.audit.retentionDays })
  const audit =
    config.audit.writer === 'thread' && config.audit.mode !== 'off'
      ? createOffThreadAuditRecorder({
          config,
          clock,
          logger,
          ...(metrics ? { observe: metrics.audit } : {}),
        })
      : createAuditRecorder({
          mode: config.audit.mode,
          store: auditStore,
          clock,
          logger,
          ...(metrics ? { observe: metrics.audit } : {}),
        })
  const auditLog = createAuditLog({
    store: auditStore,
    audit,
    clock,
    retentionDays: config.audit.retentionDays,
  })

  const outbound = createOutboundFetch(config.outbound)
  // Webhooks: endpoints, their sealed secrets, the outbox and the delivery log.
  const webhookRepository = createWebhookRepository({ doc, table })
  const webhookSecrets = createWebhookSecretSealer(platformKek)
  const events = createEventWriter({ doc, table })
  const deliveryWorker = createDeliveryWorker({
    outbox: createOutboxStore({ doc, table }),
    webhooks: webhookRepository,
    sealer: webhookSecrets,
    fetch: outbound,
    clock,
    logger,
  })
  /** Start with `outbox.start()` (main.ts); a write that queued an event kicks it. */
  const outbox = createPoller({
    name: 'webhook-delivery',
    pass: deliveryWorker.pass,
    pollMs: 5_000,
    logger,
  })
  /** Start with `reminders.start()` (main.ts): expiry, replacement and unused reminders. */
  const reminders = createPoller({
    name: 'reminders',
    pass: createReminderScheduler({
      index: createDueIndex({ doc, table }),
      clock,
      logger,
      unusedAfterDays: config.reminders.unusedAfterDays,
      onEvents: outbox.kick,
    }).pass,
    // Reminders are counted in days; a minute late is on time.
    pollMs: 60_000,
    logger,
  })
  const webhooks = createWebhookService({
    webhooks: webhookRepository,
    sealer: webhookSecrets,
    deliveries: createDeliveryLog({ doc, table }),
    events,
    clock,
    checkUrl: createWebhookUrlCheck(config.outbound),
    kick: outbox.kick,
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
  const foreground = createForegroundGauge()
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
      onEvent: outbox.kick,
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
    onEvent: outbox.kick,
  })
  const cipher = reportUnreachableKeks(createValueCipher({ keks, dekCache }), {
    alerts: createKekAlertStore({ doc, table }),
    clock,
    logger,
    onEvent: outbox.kick,
  })
  const keyRepository = createKeyRepository({ doc, table })
  const keyCache = createRecordCache<KeyRecord | undefined>({
    stalenessMs: config.cache.recordStalenessMs,
    clock,
  })
  const keyService = createKeyService({
    keys: keyRepository,
    cipher,
    cache: keyCache,
    config,
    clock,
    onEvent: outbox.kick,
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

  metrics?.watch({
    dekCache: dekCache.stats,
    recordCaches: { token_status: statusCache.stats, key: keyCache.stats },
    auditPending: () => audit.pending,
  })

  // Workload identity federation: trust relationships and the token exchange. Every request
  // to an issuer goes through the outbound-request module.
  const trustRelationshipRepository = createTrustRelationshipRepository({ doc, table })
  const exchangeToken = createTokenExchange({
    relationships: trustRelationshipRepository,
    accounts,
    members: memberRepository,
    tokens: tokenRepository,
    verifySubjectToken: createSubjectTokenVerifier({
      fetch: outbound,
      clock,
      jwksCooldownMs: config.workloadIdentity.jwksCooldownSeconds * 1000,
    }),
    ring,
    config,
    clock,
    lastUsed,
    // Exchanges are limited per trust relationship (its workloads share runners' and
    // clusters' addresses), at the server's per-token rate.
    beforeExchange: async (relationship) => {
      const policy = config.rateLimits.token
      if (!policy) return
      const verdict = limiter.check([
        {
          limit: 'trust',
          key: `trust|${relationship.tenantId}|${relationship.relationshipId}`,
          tenantId: relationship.tenantId,
          policy,
        },
      ])
      if (!verdict.allowed) throw rateLimited(verdict)
    },
  })

  // Single sign-on: each organization's OpenID provider, reached through the outbound module.
  const sessions = createSessionIssuer({ tokens: tokenRepository, ring, config, clock })
  const ssoSecrets = createClientSecretSealer(platformKek)
  const oidcClient = createOidcClient({
    fetch: outbound,
    // The outbound module decides which plain-http issuers may be reached; this only lets
    // openid-client make the request the module then vets.
    allowHttp: !config.outbound.production || config.outbound.allowLocal,
    clock,
  })
  const ssoMembers = createSsoMembers({ accounts, members: memberRepository, sso: ssoRepository })
  const ssoLogin = createSsoLogin({
    sso: ssoRepository,
    sealer: ssoSecrets,
    oidc: oidcClient,
    members: ssoMembers,
    accounts,
    sessions,
    publicUrl: publicUrlOf(config),
    clock,
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
    accounts: accountService,
    signupConfirmation: createSignupConfirmation({
      accounts: accountService,
      users: accounts,
      pending: createPendingSignupStore({ doc, table }),
      mailer,
      config,
      clock,
      logger,
    }),
    sessions,
    publicUrl: publicUrlOf(config),
    deviceLogin: createDeviceLogin({
      logins: createDeviceLoginRepository({ doc, table }),
      sessions,
      clock,
      options: config.auth.device,
    }),
    ssoLogin,
    ssoSettings: createSsoSettingsService({
      sso: ssoRepository,
      sealer: ssoSecrets,
      oidc: oidcClient,
      members: ssoMembers,
      resolveTxt: resolveTxt ?? systemResolveTxt,
      audit,
      clock,
    }),
    ssoRepository,
    mfa,
    /** The organization is read with each token's status: a policy change drops them here. */
    onMfaPolicyChanged: () => statusCache.clear(),
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
    /** People and their roles; `addMember` also serves SSO's just-in-time provisioning. */
    members: createMemberService({
      members: memberRepository,
      memberTokens: createMemberTokens({ tokens: tokenRepository, clock, onRevoked }),
      memberWebhooks: createMemberWebhooks({ webhooks: webhookRepository, clock }),
      clock,
      // Which sessions a person holds is not kept in memory: forget every status.
      onChanged: () => statusCache.clear(),
    }),
    invitations: createInvitationService({
      invitations: createInvitationRepository({ doc, table }),
      members: memberRepository,
      accounts,
      mailer,
      config,
      clock,
      logger,
      onChanged: () => statusCache.clear(),
    }),
    mailer,
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

/**
 * Where browsers reach this server: `KEYSTASH_PUBLIC_URL`, or in development the address it
 * listens on. Production without a public URL has none (single sign-on then cannot start).
 */
export function publicUrlOf(config: Pick<Config, 'publicUrl' | 'mode' | 'host' | 'port'>) {
  if (config.publicUrl) return config.publicUrl
  if (config.mode === 'production') return undefined
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`
}
