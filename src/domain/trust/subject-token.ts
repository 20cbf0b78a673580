import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import type { ErrorCode } from '../../errors.ts'
import type { Clock } from '../../lib/clock.ts'
import { isOutboundRefusal, type OutboundFetch } from '../../net/outbound.ts'
import type { TrustRelationshipRecord } from '../../storage/trust-relationships.ts'
import { exchangeError } from './exchange-errors.ts'

/** The only signature algorithms a subject token may use: never `none`, never HMAC. */
export const SUBJECT_TOKEN_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const
/** Allowed clock skew between the workload's issuer and this server. */
export const SUBJECT_TOKEN_SKEW_SECONDS = 60
/** Far above any platform's ID token; refuses oversized input before parsing it. */
export const MAX_SUBJECT_TOKEN_LENGTH = 16 * 1024

export interface SubjectTokenVerifierOptions {
  /** Every request to an issuer goes through the outbound-request module. */
  fetch: OutboundFetch
  clock: Clock
  /** How long an issuer's discovery document is trusted before it is fetched again. */
  discoveryTtlMs?: number
  /** Least time between two fetches of a key set when a token names an unknown `kid`. */
  jwksCooldownMs?: number
  /** Issuers remembered at once (the oldest is forgotten first). */
  maxIssuers?: number
}

export interface VerifiedSubjectToken {
  claims: JWTPayload & { iss: string; sub: string; exp: number; iat: number }
}

/**
 * Verifies a workload's OIDC token against one trust relationship: the issuer's keys (from a
 * fixed key set, or discovery and jose's remote key set, cached and refetched on an unknown
 * `kid` with a cooldown), an allow-listed algorithm, the exact issuer and audience, `exp`,
 * `nbf` and `iat` within 60 s of skew, and the relationship's maximum age. Every failure is
 * an AppError with a code that names the check; none quotes the token.
 */
export function createSubjectTokenVerifier({
  fetch,
  clock,
  discoveryTtlMs = 3_600_000,
  jwksCooldownMs = 30_000,
  maxIssuers = 1000,
}: SubjectTokenVerifierOptions) {
  const issuers = new Map<string, { keys: JWTVerifyGetKey; until: number }>()

  async function discover(issuer: string): Promise<JWTVerifyGetKey> {
    const known = issuers.get(issuer)
    if (known && known.until > clock.now()) return known.keys
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    const response = await fetch(url, { headers: { accept: 'application/json' } })
    if (response.status !== 200)
      throw unavailable(`the issuer's discovery document answered ${response.status}`)
    const document = (await response.json().catch(() => undefined)) as
      | { issuer?: unknown; jwks_uri?: unknown }
      | undefined
    if (document?.issuer !== issuer)
      throw unavailable('the discovery document names another issuer')
    if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri))
      throw unavailable('the discovery document has no usable jwks_uri')
    const keys = createRemoteJWKSet(new URL(document.jwks_uri), {
      [customFetch]: fetch,
      cooldownDuration: jwksCooldownMs,
      // The outbound module's own timeouts end a slow issuer first, with a clearer code.
      timeoutDuration: 120_000,
    })
    issuers.delete(issuer)
    issuers.set(issuer, { keys, until: clock.now() + discoveryTtlMs })
    if (issuers.size > maxIssuers) {
      const oldest = issuers.keys().next().value
      if (oldest !== undefined) issuers.delete(oldest)
    }
    return keys
  }

  async function keysFor(relationship: TrustRelationshipRecord): Promise<JWTVerifyGetKey> {
    if (relationship.jwks !== undefined)
      return createLocalJWKSet(JSON.parse(relationship.jwks) as JSONWebKeySet)
    return discover(relationship.issuer)
  }

  return async function verifySubjectToken(
    token: string,
    relationship: TrustRelationshipRecord,
  ): Promise<VerifiedSubjectToken> {
    if (token.length > MAX_SUBJECT_TOKEN_LENGTH)
      throw refused('subject_token_malformed', 'it is too long')
    let alg: unknown
    try {
      alg = decodeProtectedHeader(token).alg
    } catch {
      throw refused('subject_token_malformed', 'it is not a signed JWT')
    }
    if (!(SUBJECT_TOKEN_ALGORITHMS as readonly unknown[]).includes(alg))
      throw refused(
        'subject_token_algorithm',
        `only ${SUBJECT_TOKEN_ALGORITHMS.join(', ')} are accepted`,
      )
    try {
      const keys = await keysFor(relationship)
      const { payload } = await jwtVerify(token, keys, {
        algorithms: [...SUBJECT_TOKEN_ALGORITHMS],
        issuer: relationship.issuer,
        audience: relationship.audience,
        clockTolerance: SUBJECT_TOKEN_SKEW_SECONDS,
        maxTokenAge: relationship.maxSubjectTokenAgeSeconds,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
        currentDate: new Date(clock.now()),
      })
      return { claims: payload as VerifiedSubjectToken['claims'] }
    } catch (error) {
      throw translate(error)
    }
  }
}

export type SubjectTokenVerifier = ReturnType<typeof createSubjectTokenVerifier>

const refused = (code: ErrorCode, reason: string) =>
  exchangeError(code, `The subject token was refused: ${reason}.`)

const unavailable = (reason: string) =>
  exchangeError('issuer_unavailable', `The subject token's issuer could not be used: ${reason}.`)

function translate(error: unknown) {
  if (isOutboundRefusal(error))
    return exchangeError(
      'issuer_refused',
      `The subject token's issuer was not contacted: ${error.message}.`,
      { outbound: error.code },
    )
  if (error instanceof Error && error.name === 'AppError') return error
  const { code, claim } = (error ?? {}) as { code?: string; claim?: string }
  switch (code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return refused('subject_token_unknown_key', 'no key of the issuer matches its kid')
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return refused('subject_token_algorithm', 'its algorithm is not accepted')
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refused('subject_token_signature', 'its signature does not verify')
    case 'ERR_JWT_EXPIRED':
      // jose reports a token past the maximum age as expired, naming `iat`.
      if (claim === 'iat')
        return refused('subject_token_too_old', 'it was issued too long ago for this relationship')
      return refused('subject_token_expired', 'it has expired')
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss')
        return refused('subject_token_issuer', 'its iss is not the trusted issuer')
      if (claim === 'aud') return refused('subject_token_audience', 'its aud is not accepted')
      if (claim === 'nbf') return refused('subject_token_not_yet_valid', 'its nbf is in the future')
      if (claim === 'iat') return refused('subject_token_not_yet_valid', 'its iat is in the future')
      return refused(
        'subject_token_malformed',
        `its "${claim ?? 'claims'}" claim is missing or invalid`,
      )
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return refused('subject_token_malformed', 'it is malformed')
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return unavailable("the issuer's key set is not usable")
    case 'ERR_JWKS_TIMEOUT':
      return unavailable("the issuer's key set did not arrive in time")
  }
  if (error instanceof TypeError || error instanceof SyntaxError)
    return unavailable("the issuer's key set could not be fetched")
  return error
}
