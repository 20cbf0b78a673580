import { type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose'
import { z } from 'zod'
import type { Environment } from '../config.ts'
import { AppError } from '../errors.ts'
import type { Maybe } from '../lib/maybe.ts'
import { environmentSchema, type Principal, type PrincipalKind } from './principal.ts'
import { keyRestrictionsSchema, normalizeScopes, type Scope } from './scopes.ts'
import type { SigningKeyRing } from './signing-keys.ts'
import { hashToken, type VerifiedTokenMemo } from './token-memo.ts'

/** Far above any token we sign (about 1 KiB); refuses oversized input before parsing it. */
export const MAX_TOKEN_LENGTH = 8192
/** How many tokens may stand above an access token in the token tree. */
export const MAX_TOKEN_DEPTH = 8
/** How many address ranges one token may name. */
export const MAX_CIDRS = 32

export interface IssueTokenInput {
  issuer: string
  audience: string
  kind: PrincipalKind
  tokenId: string
  tenantId: string
  /** The user for sessions; for access tokens, whatever the token service records as subject. */
  subject: string
  /** Access tokens only: a session's power comes from its person, not from its token. */
  scopes?: readonly Scope[]
  keys?: readonly string[]
  cidrs?: readonly string[]
  /** Access tokens only: the tokens above it in the token tree, root first. */
  ancestors?: readonly string[]
  /** Required for access tokens, forbidden for sessions. */
  environment?: Environment
  expiresAt: Date
  /** The trust relationship behind the token (`trs`), read with the token's status. */
  trustId?: string
}

export async function issueToken(
  ring: Pick<SigningKeyRing, 'signingKey' | 'clock' | 'maxTokenLifetimeSeconds'>,
  input: IssueTokenInput,
): Promise<string> {
  if ((input.kind === 'access') !== (input.environment !== undefined)) {
    throw new Error('Access tokens need an environment and sessions must not have one')
  }
  const iat = Math.floor(ring.clock.now() / 1000)
  const exp = Math.floor(input.expiresAt.getTime() / 1000)
  // The ring keeps a retired public key only for this long, so a longer-lived token would
  // stop verifying early.
  if (exp <= iat || exp - iat > ring.maxTokenLifetimeSeconds) {
    throw new AppError(
      'validation_failed',
      `A token must expire in the future and within ${ring.maxTokenLifetimeSeconds} seconds`,
    )
  }
  const { kid, privateKey } = await ring.signingKey()
  return new SignJWT({
    tid: input.tenantId,
    ...(input.scopes === undefined ? {} : { scope: input.scopes.join(' ') }),
    kind: input.kind,
    ...(input.environment === undefined ? {} : { env: input.environment }),
    ...(input.keys === undefined ? {} : { keys: [...input.keys] }),
    ...(input.cidrs === undefined ? {} : { cidr: [...input.cidrs] }),
    ...(input.ancestors === undefined ? {} : { anc: [...input.ancestors] }),
    ...(input.trustId === undefined ? {} : { trs: input.trustId }),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setSubject(input.subject)
    .setJti(input.tokenId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey)
}

export interface VerifyTokenOptions {
  issuer: string
  audience: string
  /** Allowed clock skew between instances, 0..300 (default 30). */
  clockToleranceSeconds?: number
  /** Remembers verified tokens until they expire (see token-memo.ts). */
  memo?: VerifiedTokenMemo
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  jti: z.string().min(1),
  tid: z.string().min(1),
  scope: z.string().max(2000).optional(),
  kind: z.enum(['session', 'access']),
  env: environmentSchema.optional(),
  keys: keyRestrictionsSchema.optional(),
  cidr: z.array(z.string().max(64)).max(MAX_CIDRS).optional(),
  anc: z.array(z.string().max(64)).max(MAX_TOKEN_DEPTH).optional(),
  trs: z.string().min(1).max(64).optional(),
  iat: z.number(),
  exp: z.number(),
})

class UnknownSigningKey extends Error {}

type VerifyingRing = Pick<SigningKeyRing, 'publicKey' | 'hasPublicKey' | 'clock'> &
  Partial<Pick<SigningKeyRing, 'isRevoked'>>

/**
 * Verifies a session or access token and returns its principal. Only the token's status
 * (revoked or not) is left to the caller. Every failure is `invalid_token`, except an expired
 * token (`token_expired`); neither ever quotes the token. A token this instance verified
 * before (`options.memo`) is answered at once, without a promise; others are verified.
 */
export function verifyToken(
  ring: VerifyingRing,
  token: string,
  options: VerifyTokenOptions,
): Maybe<Principal> {
  const remembered = recallVerifiedToken(ring, token, options)
  return remembered ?? verifySignature(ring, token, options)
}

async function verifySignature(
  ring: VerifyingRing,
  token: string,
  options: VerifyTokenOptions,
): Promise<Principal> {
  const { issuer, audience, memo } = options
  const tolerance = toleranceOf(options)
  const nowMs = ring.clock.now()
  const now = Math.floor(nowMs / 1000)

  const resolveKey: JWTVerifyGetKey = async (header) => {
    const key = typeof header.kid === 'string' ? await ring.publicKey(header.kid) : undefined
    if (key === undefined && typeof header.kid === 'string' && ring.isRevoked?.(header.kid)) {
      throw signingKeyRevoked()
    }
    if (key === undefined) throw new UnknownSigningKey()
    return key
  }

  let verified: { payload: unknown; kid: string }
  try {
    const result = await jwtVerify(token, resolveKey, {
      algorithms: ['EdDSA'],
      issuer,
      audience,
      typ: 'JWT',
      requiredClaims: ['jti', 'tid', 'sub', 'exp', 'iat'],
      clockTolerance: tolerance,
      currentDate: new Date(nowMs),
    })
    verified = { payload: result.payload, kid: result.protectedHeader.kid ?? '' }
  } catch (error) {
    throw fromJoseError(error)
  }

  const parsed = claimsSchema.safeParse(verified.payload)
  if (!parsed.success) throw invalid('its claims are malformed')
  const claims = parsed.data
  if ((claims.kind === 'access') !== (claims.env !== undefined)) {
    throw invalid('its claims are malformed')
  }
  if (claims.iat > now + tolerance) throw invalid('it was issued in the future')

  const principal = deepFreeze<Principal>({
    kind: claims.kind,
    tokenId: claims.jti,
    tenantId: claims.tid,
    ...(claims.kind === 'session' ? { userId: claims.sub } : {}),
    // A session's scopes come from its person at each request (authenticate.ts).
    scopes: claims.kind === 'access' ? normalizeScopes((claims.scope ?? '').split(' ')) : [],
    ...(claims.keys === undefined ? {} : { keys: claims.keys }),
    ...(claims.cidr === undefined ? {} : { cidrs: claims.cidr }),
    ...(claims.anc === undefined ? {} : { ancestors: claims.anc }),
    ...(claims.env === undefined ? {} : { environment: claims.env }),
    ...(claims.trs === undefined ? {} : { trustId: claims.trs }),
    expiresAt: new Date(claims.exp * 1000),
    signedBy: verified.kid,
  })
  memo?.set(hashToken(token), { principal, kid: verified.kid, issuer, audience, exp: claims.exp })
  return principal
}

/**
 * The principal of a token this instance already verified (`options.memo`), with no I/O and
 * no signature check: the memo's entry must match the issuer and audience, the token must not
 * have expired, and its signing key must still be published. Undefined when the token has to
 * be verified; `token_expired` or `invalid_token` as `verifyToken` would answer.
 */
function recallVerifiedToken(
  ring: Pick<SigningKeyRing, 'hasPublicKey' | 'clock'>,
  token: string,
  options: VerifyTokenOptions,
): Principal | undefined {
  const { issuer, audience, memo } = options
  const tolerance = toleranceOf(options)
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalid('it is malformed')
  if (memo === undefined) return undefined
  const tokenHash = hashToken(token)
  const hit = memo.get(tokenHash)
  if (hit === undefined || hit.issuer !== issuer || hit.audience !== audience) return undefined
  if (hit.exp <= Math.floor(ring.clock.now() / 1000) - tolerance) {
    memo.delete(tokenHash)
    throw expired()
  }
  if (ring.hasPublicKey(hit.kid)) return hit.principal
  memo.delete(tokenHash)
  return undefined
}

function toleranceOf(options: VerifyTokenOptions): number {
  const tolerance = options.clockToleranceSeconds ?? 30
  if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 300) {
    throw new Error('clockToleranceSeconds must be a whole number between 0 and 300')
  }
  return tolerance
}

const joseReasons: Record<string, string> = {
  ERR_JOSE_ALG_NOT_ALLOWED: 'its algorithm is not accepted',
  ERR_JOSE_NOT_SUPPORTED: 'its algorithm is not accepted',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'its signature does not verify',
  ERR_JWS_INVALID: 'it is malformed',
  ERR_JWT_INVALID: 'it is malformed',
}

/** A token signed by a key the operator revoked (`rotate-signing-key --revoke-previous`). */
export const signingKeyRevoked = () =>
  new AppError(
    'signing_key_revoked',
    'The key that signed this token has been revoked; sign in or ask for a new token.',
    { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } },
  )

function fromJoseError(error: unknown): AppError {
  if (error instanceof AppError) return error
  if (error instanceof UnknownSigningKey) return invalid('it was signed by an unknown key')
  const { code, claim } = (error ?? {}) as { code?: unknown; claim?: unknown }
  if (code === 'ERR_JWT_EXPIRED') return expired()
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && typeof claim === 'string') {
    // `claim` is a claim name chosen by jose (iss, aud, typ, ...), never a value.
    return invalid(`its "${claim}" is missing or not accepted`)
  }
  return invalid((typeof code === 'string' && joseReasons[code]) || 'it could not be verified')
}

const invalid = (reason: string) =>
  new AppError('invalid_token', `The access token is not valid: ${reason}`, {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  })

const expired = () =>
  new AppError('token_expired', 'The access token has expired', {
    headers: {
      'WWW-Authenticate':
        'Bearer error="invalid_token", error_description="The access token expired"',
    },
  })

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object' && !Object.isFrozen(child)) deepFreeze(child)
  }
  return Object.freeze(value)
}
