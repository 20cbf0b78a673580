import { issueToken, MAX_CIDRS, MAX_TOKEN_DEPTH } from '../auth/jwt.ts'
import type { Principal } from '../auth/principal.ts'
import { requireMintWithinRole } from '../auth/roles.ts'
import { assertSubset, requireScope, type Scope, TENANT_WIDE_SCOPES } from '../auth/scopes.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config, Environment } from '../config.ts'
import { AppError } from '../errors.ts'
import { newEvent } from '../events/new-event.ts'
import { isId, newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import { canonicalCidr } from '../net/cidr.ts'
import { narrowRateLimit } from '../ratelimit/narrow.ts'
import type { RatePolicy } from '../ratelimit/token-bucket.ts'
import type { TokenRecord } from '../storage/token-record.ts'
import { AncestorRevoked, type TokenRepository } from '../storage/tokens.ts'
import { type LifetimeQuery, lifetimeFilters } from './key-lifetime.ts'

export interface TokenServiceDeps {
  tokens: TokenRepository
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
  onRevoked: (tenantId: string, tokenId: string) => void
  /** The server's per-token rate limit: a session's ceiling for what it mints. */
  defaultRateLimit?: RatePolicy | undefined
  /** Told when a write queued an event, so the delivery worker looks soon (never awaited). */
  onEvent?: () => void
}

export interface CreateTokenInput {
  name: string
  scopes: Scope[]
  expiresAt: Date
  keys?: string[]
  /** Address ranges (CIDR or single addresses); by default those of the minting token. */
  cidrs?: string[]
  environment?: Environment
  rateLimit?: RatePolicy
}

/** What callers see of a token: everything but the token string. */
export function describeToken(record: TokenRecord) {
  return {
    id: record.tokenId,
    name: record.name ?? null,
    kind: record.kind,
    scopes: record.scopes,
    keys: record.keys ?? null,
    cidrs: record.cidrs ?? null,
    environment: record.environment ?? null,
    parentId: record.ancestors?.at(-1) ?? null,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    lastUsedAt: record.lastUsedAt ?? null,
    revokedAt: record.revokedAt ?? null,
    createdBy: record.createdBy,
    rateLimit: record.rateLimit ?? null,
    workload: record.workload ?? null,
  }
}

/** The JWT of an access token record: its claims are the record's. */
export function signAccessToken(
  ring: SigningKeyRing,
  config: Pick<Config, 'auth'>,
  record: TokenRecord,
): Promise<string> {
  return issueToken(ring, {
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    kind: 'access',
    tokenId: record.tokenId,
    tenantId: record.tenantId,
    subject: record.tokenId,
    scopes: record.scopes,
    ...(record.keys ? { keys: record.keys } : {}),
    ...(record.cidrs ? { cidrs: record.cidrs } : {}),
    ...(record.ancestors ? { ancestors: record.ancestors } : {}),
    ...(record.environment ? { environment: record.environment } : {}),
    expiresAt: new Date(record.expiresAt),
    ...(record.trustId ? { trustId: record.trustId } : {}),
  })
}

/**
 * Access tokens for applications: minted within the caller's own grant, revocable at once.
 * They form a tree: a token minted by another records it and its ancestors, and revoking a
 * token stops every token below it (authenticate.ts reads the ancestors with the token's own
 * status). A person's session manages every access token of the organization; an access token
 * sees, describes and revokes only the tokens below it.
 */
export function createTokenService({
  tokens,
  ring,
  config,
  clock,
  onRevoked,
  defaultRateLimit,
  onEvent = () => {},
}: TokenServiceDeps) {
  /** The token, when the caller may manage it; other tokens answer like missing ones. */
  async function manageable(principal: Principal, tokenId: string): Promise<TokenRecord> {
    const record = isId('tok', tokenId) ? await tokens.get(principal.tenantId, tokenId) : undefined
    if (record?.kind !== 'access' || !mayManage(principal, record)) throw notFound()
    return record
  }

  return {
    async create(principal: Principal, input: CreateTokenInput) {
      requireScope(principal, 'tokens:write')
      const now = clock.now()
      if (input.expiresAt.getTime() <= now) {
        throw new AppError('validation_failed', 'The expiry must be in the future.', {
          extra: { errors: [{ field: 'expiresAt', message: 'must be in the future' }] },
        })
      }
      const maxMs = config.auth.tokenMaxTtlSeconds * 1000
      if (input.expiresAt.getTime() - now > maxMs) {
        throw new AppError(
          'validation_failed',
          `Tokens may live at most ${config.auth.tokenMaxTtlSeconds} seconds on this server.`,
          { extra: { errors: [{ field: 'expiresAt', message: 'beyond the maximum lifetime' }] } },
        )
      }
      const environment = input.environment ?? principal.environment ?? 'production'
      const scopes = [...new Set(input.scopes)]
      const cidrs = input.cidrs ? canonicalCidrs(input.cidrs) : principal.cidrs
      checkKeyRestrictable(scopes, input.keys)
      requireMintWithinRole(principal, scopes, environment)
      assertSubset(principal, {
        kind: 'access',
        scopes,
        keys: input.keys,
        cidrs,
        environment,
        expiresAt: input.expiresAt,
      })
      const rateLimit = narrowRateLimit(principal.rateLimit, defaultRateLimit, input.rateLimit)
      const ancestors =
        principal.kind === 'access' ? [...(principal.ancestors ?? []), principal.tokenId] : []
      if (ancestors.length > MAX_TOKEN_DEPTH) {
        throw new AppError(
          'validation_failed',
          `A token may have at most ${MAX_TOKEN_DEPTH} tokens above it; mint this one from a token nearer the root or a session.`,
        )
      }
      const record: TokenRecord = {
        tenantId: principal.tenantId,
        tokenId: newId('tok'),
        kind: 'access',
        name: input.name,
        scopes,
        ...(input.keys ? { keys: [...new Set(input.keys)] } : {}),
        ...(cidrs ? { cidrs: [...cidrs] } : {}),
        environment,
        ancestors,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(Math.floor(input.expiresAt.getTime() / 1000) * 1000).toISOString(),
        createdBy: principal.userId
          ? { type: 'user', id: principal.userId }
          : { type: 'token', id: principal.tokenId },
        ...(rateLimit ? { rateLimit } : {}),
        ...(principal.trustId ? { trustId: principal.trustId } : {}),
      }
      const token = await signAccessToken(ring, config, record)
      try {
        await tokens.mint(record)
      } catch (error) {
        if (!(error instanceof AncestorRevoked)) throw error
        throw new AppError(
          'token_revoked',
          'This token, or a token it was minted from, has been revoked.',
          { headers: { 'www-authenticate': 'Bearer realm="keystash", error="invalid_token"' } },
        )
      }
      return { token, record }
    },

    async list(principal: Principal, query: LifetimeQuery & { limit: number; cursor?: string }) {
      requireScope(principal, 'tokens:write')
      const { expiringWithinDays, unusedForDays, neverUsed, ...page } = query
      const now = clock.now()
      return tokens.list(principal.tenantId, {
        kind: 'access',
        ...page,
        ...(principal.kind === 'access' ? { descendantOf: principal.tokenId } : {}),
        ...(managesOwnOnly(principal) ? { mintedByUser: principal.userId } : {}),
        ...lifetimeFilters({ expiringWithinDays, unusedForDays, neverUsed }, now),
        now: new Date(now).toISOString(),
      })
    },

    async get(principal: Principal, tokenId: string) {
      requireScope(principal, 'tokens:write')
      return manageable(principal, tokenId)
    },

    /**
     * Idempotent: revoking a revoked token succeeds and keeps the first revocation time. Every
     * token below it stops too, with no write of its own; `cascaded` counts those that were
     * still unrevoked, for the audit trail.
     */
    async revoke(principal: Principal, tokenId: string): Promise<{ cascaded: number }> {
      requireScope(principal, 'tokens:write')
      await manageable(principal, tokenId)
      const now = clock.now()
      const event = newEvent(principal.tenantId, 'token.revoked', { tokenId }, now)
      const revoked = await tokens.revoke(
        principal.tenantId,
        tokenId,
        new Date(now),
        'access',
        event,
      )
      if (!revoked) throw notFound()
      onRevoked(principal.tenantId, tokenId)
      onEvent()
      return { cascaded: await tokens.countLiveDescendants(principal.tenantId, tokenId) }
    },
  }
}

const notFound = () => new AppError('not_found', 'No such token.')

/**
 * Who manages a token: an owner's or admin's session every access token of the organization,
 * a developer's session the tokens their own sessions minted, an access token the tokens
 * below it.
 */
function mayManage(principal: Principal, record: TokenRecord): boolean {
  if (principal.kind === 'access') return (record.ancestors ?? []).includes(principal.tokenId)
  if (!managesOwnOnly(principal)) return true
  return record.createdBy.type === 'user' && record.createdBy.id === principal.userId
}

/** Sessions whose role manages only the tokens they minted (developers). */
const managesOwnOnly = (principal: Principal): principal is Principal & { userId: string } =>
  principal.kind === 'session' &&
  principal.userId !== undefined &&
  principal.member !== undefined &&
  !['owner', 'admin'].includes(principal.member.role)

/** A key restriction would not restrict a tenant-wide power, so the two never go together. */
function checkKeyRestrictable(scopes: readonly Scope[], keys: readonly string[] | undefined) {
  const tenantWide = scopes.filter((scope) => TENANT_WIDE_SCOPES.includes(scope))
  if (keys === undefined || tenantWide.length === 0) return
  throw new AppError(
    'validation_failed',
    `Tenant-wide scopes cannot be combined with key restrictions: ${tenantWide.join(', ')}. Mint a separate token without keys for them.`,
    {
      extra: {
        errors: [{ field: 'scopes', message: 'tenant-wide scope on a key-restricted token' }],
      },
    },
  )
}

function canonicalCidrs(entries: readonly string[]): string[] {
  if (entries.length > MAX_CIDRS) {
    throw new AppError('validation_failed', `A token may name at most ${MAX_CIDRS} address ranges.`)
  }
  const ranges = entries.map((entry) => {
    const range = canonicalCidr(entry)
    if (range === undefined) {
      throw new AppError('validation_failed', 'An address range is not a valid CIDR.', {
        extra: {
          errors: [{ field: 'cidrs', message: `not an IPv4 or IPv6 CIDR: ${entry.slice(0, 64)}` }],
        },
      })
    }
    return range
  })
  return [...new Set(ranges)]
}

export type TokenService = ReturnType<typeof createTokenService>
