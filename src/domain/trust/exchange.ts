import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import { ROLE_SCOPES } from '../../auth/roles.ts'
import type { Scope } from '../../auth/scopes.ts'
import type { SigningKeyRing } from '../../auth/signing-keys.ts'
import type { Config } from '../../config.ts'
import { isId, newId } from '../../ids.ts'
import type { Clock } from '../../lib/clock.ts'
import type { AccountRepository } from '../../storage/accounts.ts'
import type { LastUsedTracker } from '../../storage/last-used.ts'
import type { MemberRepository } from '../../storage/members.ts'
import type { TokenRecord } from '../../storage/token-record.ts'
import type { TokenRepository } from '../../storage/tokens.ts'
import type {
  TrustRelationshipRecord,
  TrustRelationshipRepository,
} from '../../storage/trust-relationships.ts'
import { signAccessToken } from '../tokens.ts'
import { firstFailingCondition } from './claim-conditions.ts'
import { exchangeError } from './exchange-errors.ts'
import type { SubjectTokenVerifier } from './subject-token.ts'

export interface ExchangeInput {
  subjectToken: string
  /** The relationship named by the request's `audience` (or `resource`). */
  relationshipId: string
  /** RFC 8693 `scope`: fewer scopes than the relationship grants (default: all of them). */
  scope?: string
}

/**
 * What an exchange found out before it succeeded or failed, for its audit event: the
 * relationship and tenant, and the workload's `iss`/`sub` (from a token that may not have
 * verified: `verified` says). Never the token.
 */
export interface ExchangeTrace {
  tenantId?: string
  relationship?: Pick<TrustRelationshipRecord, 'relationshipId' | 'name'>
  issuer?: string
  subject?: string
  verified?: boolean
}

export interface TokenExchangeDeps {
  relationships: TrustRelationshipRepository
  accounts: Pick<AccountRepository, 'getUser' | 'getOrganization'>
  members: Pick<MemberRepository, 'get'>
  tokens: Pick<TokenRepository, 'put'>
  verifySubjectToken: SubjectTokenVerifier
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
  lastUsed: Pick<LastUsedTracker, 'touchTrust'>
  /**
   * Called before a relationship's subject token is verified; throws to refuse (for example
   * `rate_limited`). Per-relationship limits plug in here; by default there are none.
   */
  beforeExchange?: (relationship: TrustRelationshipRecord) => Promise<void>
}

/**
 * OAuth 2.0 Token Exchange (RFC 8693) for workloads: a platform's OIDC token, verified against
 * the one trust relationship the request names (never found by trying every relationship),
 * becomes an ordinary access token with the relationship's grant. The token lives at most the
 * relationship's lifetime and never beyond the subject token's own expiry.
 */
export function createTokenExchange(deps: TokenExchangeDeps) {
  const { relationships, accounts, tokens, ring, config, clock, lastUsed } = deps

  async function findRelationship(relationshipId: string, trace: ExchangeTrace) {
    const tenantId = isId('trs', relationshipId)
      ? await relationships.tenantOf(relationshipId)
      : undefined
    const relationship = tenantId && (await relationships.get(tenantId, relationshipId))
    if (!tenantId || !relationship)
      throw exchangeError(
        'trust_relationship_unknown',
        'No trust relationship has the id given as audience.',
      )
    trace.tenantId = tenantId
    trace.relationship = { relationshipId, name: relationship.name }
    return relationship
  }

  /**
   * A relationship acts for the person who created it, and stops when they no longer could:
   * they left the organization or lost the role that creates relationships, or the
   * organization was deleted. (A creator of an earlier release that `npm run migrate` has not
   * reached yet is still named by their user item.)
   */
  async function assertStillActive(relationship: TrustRelationshipRecord) {
    const { tenantId } = relationship
    const [organization, membership, creator] = await Promise.all([
      accounts.getOrganization(tenantId),
      deps.members.get(tenantId, relationship.createdBy.id),
      accounts.getUser(relationship.createdBy.id),
    ])
    const mayCreate = membership
      ? ROLE_SCOPES[membership.role].includes('org:write')
      : creator?.tenantId === tenantId
    if (!organization || organization.deletedAt || !mayCreate)
      throw exchangeError(
        'trust_relationship_inactive',
        'The trust relationship is no longer active: its creator no longer holds the role that allowed it.',
      )
  }

  return async function exchange(input: ExchangeInput, trace: ExchangeTrace = {}) {
    noteUnverifiedWorkload(input.subjectToken, trace)
    const relationship = await findRelationship(input.relationshipId, trace)
    await deps.beforeExchange?.(relationship)
    await assertStillActive(relationship)

    const { claims } = await deps.verifySubjectToken(input.subjectToken, relationship)
    Object.assign(trace, { issuer: claims.iss, subject: claims.sub, verified: true })

    const failing = firstFailingCondition(claims, relationship.conditions)
    if (failing)
      throw exchangeError(
        'subject_token_claims',
        `The subject token does not meet the condition on ${failing.claim}.`,
        { claim: failing.claim },
      )

    if (relationship.oneTimeUse) {
      if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 512)
        throw exchangeError(
          'subject_token_malformed',
          'The subject token has no usable jti, which one-time use needs.',
        )
      const jtiHash = createHash('sha256').update(`${claims.iss}\n${claims.jti}`).digest('hex')
      const first = await relationships.claimSubjectToken(
        relationship.tenantId,
        relationship.relationshipId,
        jtiHash,
        new Date(claims.exp * 1000),
      )
      if (!first)
        throw exchangeError(
          'subject_token_replayed',
          'This subject token was already exchanged; ask the platform for a fresh one.',
        )
    }

    const now = clock.now()
    const expiresAtMs =
      Math.floor(
        Math.min(now + relationship.grant.tokenTtlSeconds * 1000, claims.exp * 1000) / 1000,
      ) * 1000
    if (expiresAtMs - now < 1000)
      throw exchangeError('subject_token_expired', 'The subject token expires too soon.')

    const { grant } = relationship
    const scopes = narrowedScopes(grant.scopes, input.scope)
    const record: TokenRecord = {
      tenantId: relationship.tenantId,
      tokenId: newId('tok'),
      kind: 'access',
      name: `${relationship.name}: ${claims.sub}`.slice(0, 100),
      scopes,
      ...(grant.keys ? { keys: grant.keys } : {}),
      environment: grant.environment,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expiresAtMs).toISOString(),
      createdBy: { type: 'trust', id: relationship.relationshipId },
      trustId: relationship.relationshipId,
      workload: { issuer: claims.iss, subject: claims.sub.slice(0, 256) },
    }
    const token = await signAccessToken(ring, config, record)
    await tokens.put(record)
    lastUsed.touchTrust(relationship.tenantId, relationship.relationshipId, now)
    return { token, record, expiresInSeconds: Math.round((expiresAtMs - now) / 1000) }
  }
}

export type TokenExchange = ReturnType<typeof createTokenExchange>

/** The scopes a request asks for, each of which the relationship must grant. */
function narrowedScopes(granted: readonly Scope[], requested: string | undefined): Scope[] {
  if (requested === undefined || requested.trim() === '') return [...granted]
  const words = [...new Set(requested.trim().split(/\s+/))]
  const beyond = words.filter((word) => !(granted as readonly string[]).includes(word))
  if (beyond.length > 0)
    throw exchangeError(
      'token_exchange_scope',
      `The trust relationship does not grant: ${beyond.join(', ').slice(0, 200)}.`,
    )
  return words as Scope[]
}

/** `iss` and `sub` as the token claims them, for the audit of a refusal; verified later. */
function noteUnverifiedWorkload(subjectToken: string, trace: ExchangeTrace) {
  try {
    const claims = decodeJwt(subjectToken)
    if (typeof claims.iss === 'string') trace.issuer = claims.iss.slice(0, 256)
    if (typeof claims.sub === 'string') trace.subject = claims.sub.slice(0, 256)
    trace.verified = false
  } catch {
    // Not a JWT at all: nothing to note; verification says why.
  }
}
