import { normalizeScopes, type Scope } from '../auth/scopes.ts'
import type { Environment } from '../config.ts'
import type { RatePolicy } from '../ratelimit/token-bucket.ts'
import { dueAttributes } from './due-index.ts'
import { epochSeconds, itemKey } from './keys.ts'

/** A session or access token as stored: the source of truth for its status. Never the JWT. */
export interface TokenRecord {
  tenantId: string
  tokenId: string
  kind: 'session' | 'access'
  name?: string
  userId?: string
  scopes: Scope[]
  keys?: string[]
  /** Canonical CIDRs the token may be used from; undefined means anywhere. */
  cidrs?: string[]
  environment?: Environment
  /**
   * Access tokens only: the tokens above this one in the token tree, root first (empty when a
   * person's session minted it). Revoking any of them stops this one.
   */
  ancestors?: string[]
  createdAt: string
  expiresAt: string
  revokedAt?: string
  lastUsedAt?: string
  createdBy: { type: 'user' | 'token' | 'trust'; id: string }
  /** Its own rate limit, set at minting within the minter's; absent: the server's default. */
  rateLimit?: RatePolicy
  /** Set on tokens issued through a trust relationship, and on the tokens they mint. */
  trustId?: string
  /** The workload whose OIDC token was exchanged for this one (never the token itself). */
  workload?: { issuer: string; subject: string }
  /** Sessions only: when the person proved a second factor for it (absent: password alone). */
  mfaAt?: string
  /**
   * When its scopes were narrowed below those it was signed with, because the person whose
   * token tree it belongs to lost a role or a grant. Its claims then name more than it holds:
   * the record's scopes are what it may use.
   */
  narrowedAt?: string
}

const FIELDS = [
  'tenantId',
  'tokenId',
  'kind',
  'name',
  'userId',
  'scopes',
  'keys',
  'cidrs',
  'environment',
  'ancestors',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
  'createdBy',
  'rateLimit',
  'trustId',
  'workload',
  'mfaAt',
  'narrowedAt',
] as const

/** Expired token records linger a week (for listings and audits), then DynamoDB drops them. */
const TTL_GRACE_MS = 7 * 86400_000

export function tokenItem(record: TokenRecord) {
  const key = itemKey.token(record.tenantId, record.tokenId)
  return {
    ...key,
    type: 'token',
    ...record,
    // Access tokens get expiry and unused reminders (the scheduler works out when).
    ...(record.kind === 'access' ? dueAttributes(record.createdAt, key) : {}),
    ttl: epochSeconds(new Date(Date.parse(record.expiresAt) + TTL_GRACE_MS)),
  }
}

/** The record of a stored item; scopes of earlier releases read as what they were split into. */
export function toTokenRecord(item: Record<string, unknown>): TokenRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  out.scopes = normalizeScopes((item.scopes as string[] | undefined) ?? [])
  return out as unknown as TokenRecord
}
