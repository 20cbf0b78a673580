import { createAuthenticator } from '../auth/authenticate.ts'
import { lazySigningKeyRing } from '../auth/lazy-ring.ts'
import { createSigningKeyRing } from '../auth/signing-keys.ts'
import { createVerifiedTokenMemo } from '../auth/token-memo.ts'
import type { KeyProvider } from '../kms/key-provider.ts'
import { createRecordCache } from '../lib/record-cache.ts'
import { createRateExchange } from '../ratelimit/exchange.ts'
import { createRateLimiter } from '../ratelimit/limiter.ts'
import { createLastUsedTracker } from '../storage/last-used.ts'
import { createRateCounterStore } from '../storage/rate-counters.ts'
import { createEnvelopeSigningKeySealer, createSigningKeyStore } from '../storage/signing-keys.ts'
import { createTokenStatusReader, type TokenStatus } from '../storage/token-status.ts'
import type { BaseWiring } from './wiring.ts'

export interface AuthenticationWiring extends BaseWiring {
  /** Seals the signing keys at rest. */
  platformKek: KeyProvider
}

/**
 * Authentication, wired (part of the composition root, deps.ts): the signing key ring (started
 * on first use), the token statuses' cache, the rate limits and their exchange between
 * instances, the last-used tracker, and the authenticator that joins them for every request.
 */
export function buildAuthentication({
  doc,
  table,
  config,
  clock,
  logger,
  metrics,
  platformKek,
}: AuthenticationWiring) {
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
  return { ring, lastUsed, limiter, rateExchange, statusCache, authenticator }
}
