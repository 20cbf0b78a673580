import type { Clock } from '../auth/clock.ts'
import { issueToken } from '../auth/jwt.ts'
import type { Principal } from '../auth/principal.ts'
import { assertSubset, requireScope, type Scope } from '../auth/scopes.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config, Environment } from '../config.ts'
import { AppError } from '../errors.ts'
import { isId, newId } from '../ids.ts'
import type { TokenRecord, TokenRepository } from '../storage/tokens.ts'

export interface TokenServiceDeps {
  tokens: TokenRepository
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
  onRevoked: (tenantId: string, tokenId: string) => void
}

export interface CreateTokenInput {
  name: string
  scopes: Scope[]
  expiresAt: Date
  keys?: string[]
  environment?: Environment
}

/** What callers see of a token: everything but the token string. */
export function describeToken(record: TokenRecord) {
  return {
    id: record.tokenId,
    name: record.name ?? null,
    kind: record.kind,
    scopes: record.scopes,
    keys: record.keys ?? null,
    environment: record.environment ?? null,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    lastUsedAt: record.lastUsedAt ?? null,
    revokedAt: record.revokedAt ?? null,
    createdBy: record.createdBy,
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
    ...(record.environment ? { environment: record.environment } : {}),
    expiresAt: new Date(record.expiresAt),
    ...(record.trustId ? { trustId: record.trustId } : {}),
  })
}

/** Access tokens for applications: minted within the caller's own grant, revocable at once. */
export function createTokenService({ tokens, ring, config, clock, onRevoked }: TokenServiceDeps) {
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
      assertSubset(principal, {
        kind: 'access',
        scopes,
        keys: input.keys,
        environment,
        expiresAt: input.expiresAt,
      })
      const record: TokenRecord = {
        tenantId: principal.tenantId,
        tokenId: newId('tok'),
        kind: 'access',
        name: input.name,
        scopes,
        ...(input.keys ? { keys: [...new Set(input.keys)] } : {}),
        environment,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(Math.floor(input.expiresAt.getTime() / 1000) * 1000).toISOString(),
        createdBy: principal.userId
          ? { type: 'user', id: principal.userId }
          : { type: 'token', id: principal.tokenId },
        ...(principal.trustId ? { trustId: principal.trustId } : {}),
      }
      const token = await signAccessToken(ring, config, record)
      await tokens.put(record)
      return { token, record }
    },

    async list(principal: Principal, page: { limit: number; cursor?: string }) {
      requireScope(principal, 'tokens:write')
      return tokens.list(principal.tenantId, { kind: 'access', ...page })
    },

    async get(principal: Principal, tokenId: string) {
      requireScope(principal, 'tokens:write')
      const record = isId('tok', tokenId)
        ? await tokens.get(principal.tenantId, tokenId)
        : undefined
      if (record?.kind !== 'access') throw notFound()
      return record
    },

    /** Idempotent: revoking a revoked token succeeds and keeps the first revocation time. */
    async revoke(principal: Principal, tokenId: string) {
      requireScope(principal, 'tokens:write')
      const revoked =
        isId('tok', tokenId) &&
        (await tokens.revoke(principal.tenantId, tokenId, new Date(clock.now()), 'access'))
      if (!revoked) throw notFound()
      onRevoked(principal.tenantId, tokenId)
    },
  }
}

const notFound = () => new AppError('not_found', 'No such token.')

export type TokenService = ReturnType<typeof createTokenService>
