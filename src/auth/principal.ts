import { z } from 'zod'
import type { Environment } from '../config.ts'
import type { RatePolicy } from '../ratelimit/token-bucket.ts'
import type { MemberRole } from './roles.ts'
import type { Scope } from './scopes.ts'

export const ENVIRONMENTS = [
  'development',
  'staging',
  'production',
] as const satisfies readonly Environment[]
export const environmentSchema = z.enum(ENVIRONMENTS)

/**
 * `session`: a user logged in (or an equivalent bootstrap credential). It carries the user's
 * scopes and no environment, because a person is not tied to one deployment.
 * `access`: a token for an application. It always names the environment it runs in; mock mode
 * and the no-escalation rule both depend on it.
 */
export type PrincipalKind = 'session' | 'access'

/** Who is calling, as established by a verified token. Domain services take this, never a request. */
export interface Principal {
  kind: PrincipalKind
  /** The token's id (`jti`); the token record in storage is the source of truth for its status. */
  tokenId: string
  tenantId: string
  /** The user (`sub`) for sessions; undefined for access tokens. */
  userId?: string
  /**
   * Sessions only: the person's role in the organization, read with the session's status at
   * each request (within the record-cache bound). `scopes` are the role's.
   */
  member?: MemberRole
  scopes: Scope[]
  /** Key restrictions (see `keyAllowed`); undefined means every key of the tenant. */
  keys?: string[]
  /** Always set for access tokens, never for sessions. */
  environment?: Environment
  /** Address ranges the token may be used from (see net/cidr.ts); undefined means anywhere. */
  cidrs?: string[]
  /**
   * The access tokens above this one in the token tree, root first: revoking any of them stops
   * this one. Empty for a token minted by a person's session.
   */
  ancestors?: string[]
  expiresAt: Date
  name?: string
  /** The token's own rate limit, from its record (else the server's default applies). */
  rateLimit?: RatePolicy
  /** The `kid` of the key that signed the token (an emergency revocation stops its tokens). */
  signedBy?: string
  /**
   * The trust relationship that issued this token by exchanging a workload's OIDC token (or
   * issued the token it descends from): the token stops working when the relationship is
   * deleted.
   */
  trustId?: string
  /** Sessions only: when the person proved a second factor for this session. */
  mfaAt?: string
}

/** What a token grants, and so what `assertSubset` compares between a parent and a child. */
export type Grant = Pick<
  Principal,
  'kind' | 'scopes' | 'keys' | 'cidrs' | 'environment' | 'expiresAt'
>
