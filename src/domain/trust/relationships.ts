import type { Principal } from '../../auth/principal.ts'
import { assertSubset, requireScope, type Scope } from '../../auth/scopes.ts'
import type { Environment } from '../../config.ts'
import { AppError } from '../../errors.ts'
import { isId, newId } from '../../ids.ts'
import type { Clock } from '../../lib/clock.ts'
import type {
  ClaimCondition,
  TrustPreset,
  TrustRelationshipRecord,
  TrustRelationshipRepository,
} from '../../storage/trust-relationships.ts'
import { PRESETS, presetForIssuer } from './presets.ts'

export const DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS = 900
export const MAX_EXCHANGED_TOKEN_TTL_SECONDS = 3600

export interface CreateTrustRelationshipInput {
  name: string
  preset: TrustPreset
  issuer: string
  jwks?: { keys: Record<string, unknown>[] }
  audience?: string
  conditions: ClaimCondition[]
  scopes: Scope[]
  keys?: string[]
  environment: Environment
  tokenTtlSeconds?: number
  maxSubjectTokenAgeSeconds?: number
  oneTimeUse?: boolean
}

/** What callers see of a relationship. */
export function describeTrustRelationship(record: TrustRelationshipRecord) {
  return {
    id: record.relationshipId,
    name: record.name,
    preset: record.preset,
    issuer: record.issuer,
    jwks: record.jwks === undefined ? null : (JSON.parse(record.jwks) as { keys: unknown[] }),
    audience: record.audience,
    conditions: record.conditions,
    scopes: record.grant.scopes,
    keys: record.grant.keys ?? null,
    environment: record.grant.environment,
    tokenTtlSeconds: record.grant.tokenTtlSeconds,
    maxSubjectTokenAgeSeconds: record.maxSubjectTokenAgeSeconds,
    oneTimeUse: record.oneTimeUse,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    lastUsedAt: record.lastUsedAt ?? null,
  }
}

/**
 * Trust relationships: which workloads may exchange their platform's OIDC token for an access
 * token, and what that token gets. They grant access later, to someone else, so only a
 * person's session creates or deletes one (a leaked access token must not leave a backdoor
 * behind), and what they grant stays within that person's own grant.
 */
export function createTrustRelationshipService({
  relationships,
  clock,
  onDeleted,
}: {
  relationships: TrustRelationshipRepository
  clock: Clock
  /** Told after a deletion, so this instance stops serving its tokens' statuses from memory. */
  onDeleted: () => void
}) {
  return {
    async create(principal: Principal, input: CreateTrustRelationshipInput) {
      requireSession(principal)
      requireScope(principal, 'org:write')
      const preset = PRESETS[input.preset]
      const platform = presetForIssuer(input.issuer)
      if (platform !== undefined && platform !== input.preset) {
        throw invalid('preset', `this issuer is trusted only through the ${platform} preset`)
      }
      if (!preset.pinsOwner(input.conditions)) {
        throw new AppError(
          'trust_owner_unpinned',
          `The conditions must pin the workload's owner without a wildcard: ${preset.ownerRule}.`,
          { extra: { preset: input.preset } },
        )
      }
      const tokenTtlSeconds = input.tokenTtlSeconds ?? DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS
      const scopes = [...new Set(input.scopes)]
      assertSubset(principal, {
        kind: 'access',
        scopes,
        keys: input.keys,
        environment: input.environment,
        expiresAt: new Date(clock.now() + tokenTtlSeconds * 1000),
      })
      const relationshipId = newId('trs')
      const record: TrustRelationshipRecord = {
        tenantId: principal.tenantId,
        relationshipId,
        name: input.name,
        preset: input.preset,
        issuer: input.issuer,
        ...(input.jwks ? { jwks: JSON.stringify(publicKeySet(input.jwks)) } : {}),
        // The audience a workload asks its platform for: by default the relationship's id,
        // which is also what names the relationship in the exchange.
        audience: input.audience ?? relationshipId,
        conditions: input.conditions,
        grant: {
          scopes,
          ...(input.keys ? { keys: [...new Set(input.keys)] } : {}),
          environment: input.environment,
          tokenTtlSeconds,
        },
        maxSubjectTokenAgeSeconds:
          input.maxSubjectTokenAgeSeconds ?? preset.maxSubjectTokenAgeSeconds,
        oneTimeUse: input.oneTimeUse ?? preset.oneTimeUse,
        createdAt: new Date(clock.now()).toISOString(),
        createdBy: { type: 'user', id: principal.userId ?? '' },
      }
      await relationships.create(record)
      return record
    },

    async list(principal: Principal, page: { limit: number; cursor?: string }) {
      requireScope(principal, 'org:write')
      return relationships.list(principal.tenantId, page)
    },

    async get(principal: Principal, relationshipId: string) {
      requireScope(principal, 'org:write')
      const record = isId('trs', relationshipId)
        ? await relationships.get(principal.tenantId, relationshipId)
        : undefined
      if (!record) throw notFound()
      return record
    },

    /** Deleting a relationship also revokes every token it issued (see auth/authenticate.ts). */
    async delete(principal: Principal, relationshipId: string) {
      requireSession(principal)
      requireScope(principal, 'org:write')
      const deleted =
        isId('trs', relationshipId) &&
        (await relationships.delete(principal.tenantId, relationshipId))
      if (!deleted) throw notFound()
      onDeleted()
    },
  }
}

export type TrustRelationshipService = ReturnType<typeof createTrustRelationshipService>

function requireSession(principal: Principal) {
  if (principal.kind === 'session' && principal.userId) return
  throw new AppError(
    'session_required',
    'Trust relationships are created and deleted by a person’s session, never by an access token.',
  )
}

/**
 * A fixed key set holds public keys only: a private or symmetric key here would mean the
 * tenant pasted a secret, and a symmetric key would let anyone who reads it sign tokens.
 */
function publicKeySet(jwks: { keys: Record<string, unknown>[] }) {
  const keys = jwks.keys.map((key, index) => {
    if (key.kty !== 'RSA' && key.kty !== 'EC' && key.kty !== 'OKP')
      throw invalid(`jwks.keys.${index}.kty`, 'must be RSA, EC or OKP (public keys only)')
    if ('d' in key || 'p' in key || 'k' in key)
      throw invalid(`jwks.keys.${index}`, 'must be a public key (it carries private members)')
    return key
  })
  if (keys.length === 0) throw invalid('jwks.keys', 'must hold at least one key')
  return { keys }
}

const invalid = (field: string, message: string) =>
  new AppError('validation_failed', `${field}: ${message}`, {
    extra: { errors: [{ field, message }] },
  })

const notFound = () => new AppError('not_found', 'No such trust relationship.')
