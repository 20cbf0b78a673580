import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config } from '../config.ts'
import { createTokenExchange } from '../domain/trust/exchange.ts'
import { createSubjectTokenVerifier } from '../domain/trust/subject-token.ts'
import type { Clock } from '../lib/clock.ts'
import type { OutboundFetch } from '../net/outbound.ts'
import { type RateLimiter, rateLimited } from '../ratelimit/limiter.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import type { LastUsedTracker } from '../storage/last-used.ts'
import type { MemberRepository } from '../storage/members.ts'
import type { TokenRepository } from '../storage/tokens.ts'
import { createTrustRelationshipRepository } from '../storage/trust-relationships.ts'

export interface WorkloadIdentityWiring {
  doc: DynamoDBDocumentClient
  table: string
  config: Readonly<Config>
  clock: Clock
  /** Every request to an issuer goes through it (net/outbound.ts). */
  outbound: OutboundFetch
  accounts: AccountRepository
  members: MemberRepository
  tokens: TokenRepository
  ring: SigningKeyRing
  lastUsed: LastUsedTracker
  limiter: RateLimiter
}

/**
 * Workload identity federation, wired (part of the composition root, deps.ts): trust
 * relationships and the token exchange, limited per relationship.
 */
export function buildWorkloadIdentity({
  doc,
  table,
  config,
  clock,
  outbound,
  accounts,
  members,
  tokens,
  ring,
  lastUsed,
  limiter,
}: WorkloadIdentityWiring) {
  const trustRelationshipRepository = createTrustRelationshipRepository({ doc, table })
  const exchangeToken = createTokenExchange({
    relationships: trustRelationshipRepository,
    accounts,
    members,
    tokens,
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
  return { trustRelationshipRepository, exchangeToken }
}
