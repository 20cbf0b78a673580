import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import { andThen, type Maybe } from '../lib/maybe.ts'
import type { RecordCache } from '../lib/record-cache.ts'
import type { Logger } from '../logger.ts'
import { createAddressMatcher } from '../net/cidr.ts'
import type { RateLimiter, RateVerdict } from '../ratelimit/limiter.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'
import type { KeyRecord } from '../storage/key-items.ts'
import type { LastUsedTracker } from '../storage/last-used.ts'
import type { TokenRecord } from '../storage/token-record.ts'
import type { TokenStatus, TokenStatusReader } from '../storage/token-status.ts'
import { claimsMismatch } from './claims-match.ts'
import { signingKeyRevoked, type VerifyTokenOptions, verifyToken } from './jwt.ts'
import type { Principal } from './principal.ts'
import { scopesOfRole } from './roles.ts'
import { TENANT_WIDE_SCOPES } from './scopes.ts'
import type { SigningKeyRing } from './signing-keys.ts'

export interface AuthenticatorDeps {
  ring: Pick<SigningKeyRing, 'publicKey' | 'hasPublicKey' | 'isRevoked' | 'clock' | 'reload'>
  verify: VerifyTokenOptions
  readStatus: TokenStatusReader
  /** Token status served from memory for at most the configured staleness bound. */
  statusCache: RecordCache<TokenStatus>
  /** That bound, in milliseconds. */
  stalenessMs: number
  lastUsed: Pick<LastUsedTracker, 'touchToken'>
  clock: Clock
  /** Told of tokens whose claims differ from their record (never the token itself). */
  logger: Pick<Logger, 'warn'>
  /** Per-token and per-organization limits, applied by `authenticate`. */
  limiter?: Pick<RateLimiter, 'admit' | 'tryAdmit'>
}

export interface Authenticated {
  principal: Principal
  /** The token's organization, as read with its status (within the staleness bound). */
  organization: OrganizationRecord
  /**
   * The key named by `options.keyRef`, when it was read in the same round trip as the token's
   * status (the status was not remembered); `record` is undefined when no such key exists.
   */
  key?: { record: KeyRecord | undefined } | undefined
  /** The rate limits' headers, when the request counted against any. */
  rateLimit?: RateVerdict | undefined
}

export interface AuthenticateOptions {
  /** The key (id or name) the request is about, read in the same round trip as the status. */
  keyRef?: string | undefined
  /** The client's address (http/client.ts), checked against the token's address ranges. */
  address?: string | undefined
  /**
   * `false` checks the token without counting the request against its rate limits (for a
   * middleware that only needs to know who is calling before the route counts it). `quiet`
   * counts it, but a request that must wait is refused without being counted or described:
   * for a caller that hands refusals to a path that answers them (reads/entrance.ts).
   */
  limit?: boolean | 'quiet'
}

const bearerChallenge = 'Bearer realm="keystash", error="invalid_token"'

/** What is worked out once per cached status record and verified token, not per request. */
interface Admission {
  claims: Principal
  expiresAtMs: number
  principal: Principal
  /** Why the token may not be used whatever the request, or undefined. */
  refusal: AppError | undefined
  addressAllowed: ((address: string | undefined) => boolean) | undefined
}

/**
 * Turns a bearer token into a principal: signature, algorithm, issuer, audience and expiry
 * first (no I/O), then the token record, which is the source of truth for revocation and must
 * match the claims, its ancestors in the token tree (a revoked ancestor stops it), the mark of
 * an emergency revocation of its signing key, and the organization, which may have been
 * deleted. Last, the client address against the token's address ranges.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const { ring, verify, readStatus, statusCache, stalenessMs, lastUsed, clock, logger, limiter } =
    deps
  const checked = new WeakMap<object, Admission>()
  // Tokens revoked through this instance, with when: a descendant's cached status still holds
  // the ancestor as it was, for at most the staleness bound after the revocation.
  const revokedHere = new Map<string, number>()

  /**
   * The principal of a bearer token. At once (no promise) when the token was verified before
   * and its status is remembered within the staleness bound; otherwise it waits for what it
   * must verify or read, and nothing else.
   */
  function authenticate(token: string, options: AuthenticateOptions = {}): Maybe<Authenticated> {
    return andThen(verifyToken(ring, token, verify), (claims) => {
      let key: Authenticated['key']
      const status = statusCache.get(`${claims.tenantId}|${claims.tokenId}`, async () => {
        const read = await readStatus(
          {
            tenantId: claims.tenantId,
            tokenId: claims.tokenId,
            ancestors: claims.ancestors,
            signingKeyId: claims.signedBy,
            trustId: claims.trustId,
            // A session's role: its person's membership, read with the token's status.
            ...(claims.kind === 'session' ? { userId: claims.userId } : {}),
          },
          options.keyRef,
        )
        key = read.key
        return read.status
      })
      return andThen(status, (status) => {
        // Another instance revoked the key that signed this token: stop signing with it here
        // too (the ring reloads its keys only every minute by itself).
        if (status.signingKeyRevokedAt && claims.signedBy && ring.hasPublicKey(claims.signedBy)) {
          return ring.reload().then(() => admitted(claims, status, options, key))
        }
        return admitted(claims, status, options, key)
      })
    })
  }

  function admitted(
    claims: Principal,
    status: TokenStatus,
    options: AuthenticateOptions,
    key: Authenticated['key'],
  ): Authenticated {
    const principal = admit(claims, status, options.address)
    // admit() refused a status without its organization.
    const organization = status.organization as OrganizationRecord
    let rateLimit: RateVerdict | undefined
    if (options.limit !== false && limiter !== undefined) {
      if (options.limit !== 'quiet') rateLimit = limiter.admit(principal)
      else {
        const verdict = limiter.tryAdmit(principal)
        if (verdict === false) throw new AppError('rate_limited')
        rateLimit = verdict
      }
    }
    // One literal of one shape on every path: the warm read builds nothing else here.
    return { principal, organization, key, rateLimit }
  }

  /** The checks on a verified token's status, the same whether the status was read or remembered. */
  function admit(claims: Principal, status: TokenStatus, address: string | undefined): Principal {
    const record = status.token
    if (!record || record.kind !== claims.kind || record.tenantId !== claims.tenantId) {
      throw new AppError('invalid_token', 'The token is not known.', {
        headers: { 'www-authenticate': bearerChallenge },
      })
    }
    let known = checked.get(status)
    if (known === undefined || known.claims !== claims) {
      known = admission(claims, status, record)
      checked.set(status, known)
    }
    if (known.refusal) throw known.refusal
    if (revokedHere.size > 0) {
      const revokedAncestor = revokedAncestorHere(record)
      if (revokedAncestor !== undefined) throw ancestorRevoked(record, revokedAncestor)
    }
    if (known.expiresAtMs <= clock.now()) {
      throw new AppError('token_expired', 'The token has expired.', {
        headers: { 'www-authenticate': bearerChallenge },
      })
    }
    if (!status.organization || status.organization.deletedAt) {
      throw new AppError('invalid_token', 'The organization of this token no longer exists.', {
        headers: { 'www-authenticate': bearerChallenge },
      })
    }
    // Sessions that did not use a second factor lose every power once one is required; the
    // person signs in again and is taken to enrolment or asked for the factor.
    if (record.kind === 'session' && status.organization.mfaRequired && !record.mfaAt) {
      throw new AppError(
        'mfa_required',
        'This organization requires a second factor: sign in again to use or set one up.',
        { headers: { 'www-authenticate': bearerChallenge } },
      )
    }
    if (known.addressAllowed && !known.addressAllowed(address)) {
      throw new AppError(
        'address_not_allowed',
        'This token may not be used from this client address.',
        { extra: { tokenId: record.tokenId } },
      )
    }
    lastUsed.touchToken(record)
    return known.principal
  }

  function admission(claims: Principal, status: TokenStatus, record: TokenRecord): Admission {
    const base = {
      claims,
      expiresAtMs: Date.parse(record.expiresAt),
      addressAllowed: record.cidrs ? createAddressMatcher(record.cidrs) : undefined,
    }
    const principal: Principal = Object.freeze({
      ...claims,
      // A session's power is its person's role, as read with its status.
      ...(record.kind === 'session' && status.member
        ? { scopes: scopesOfRole(status.member.role), member: status.member }
        : {}),
      // A narrowed token holds its record's scopes, fewer than its claims name.
      ...(record.kind === 'access' && record.narrowedAt ? { scopes: record.scopes } : {}),
      // Earlier releases let a key-restricted token hold `org:admin`; a restriction would not
      // restrict its tenant-wide powers, so such a token keeps its key powers only.
      ...(record.keys !== undefined
        ? {
            scopes: (record.narrowedAt ? record.scopes : claims.scopes).filter(
              (scope) => !TENANT_WIDE_SCOPES.includes(scope),
            ),
          }
        : {}),
      ...(record.ancestors ? { ancestors: record.ancestors } : {}),
      ...(record.name ? { name: record.name } : {}),
      ...(record.rateLimit ? { rateLimit: record.rateLimit } : {}),
      ...(record.mfaAt ? { mfaAt: record.mfaAt } : {}),
    })
    return { ...base, principal, refusal: refusalOf(claims, status, record) }
  }

  function refusalOf(
    claims: Principal,
    status: TokenStatus,
    record: TokenRecord,
  ): AppError | undefined {
    // A token from a deleted trust relationship is revoked with it (and so are its children,
    // which carry the same relationship).
    if (record.revokedAt || (claims.trustId !== undefined && status.trustActive !== true)) {
      return new AppError('token_revoked', 'The token has been revoked.', {
        headers: { 'www-authenticate': bearerChallenge },
        extra: { tokenId: record.tokenId },
      })
    }
    if (status.signingKeyRevokedAt) return signingKeyRevoked()
    // A person removed from the organization: their sessions end with the membership.
    if (record.kind === 'session' && status.member === undefined) {
      return new AppError('invalid_token', 'You are no longer a member of this organization.', {
        headers: { 'www-authenticate': bearerChallenge },
      })
    }
    // A token minted by a revoked (or vanished) ancestor stops with it.
    const revokedAncestor = (record.ancestors ?? []).find(
      (id) => !status.ancestors.get(id) || status.ancestors.get(id)?.revokedAt,
    )
    if (revokedAncestor !== undefined) return ancestorRevoked(record, revokedAncestor)
    const mismatch = record.kind === 'access' ? claimsMismatch(claims, record) : []
    if (mismatch.length > 0) {
      logger.warn(
        { tenantId: record.tenantId, tokenId: record.tokenId, fields: mismatch },
        'token refused: its claims differ from its record',
      )
      return new AppError('invalid_token', 'The token does not match its record.', {
        headers: { 'www-authenticate': bearerChallenge },
      })
    }
    return undefined
  }

  function revokedAncestorHere(record: TokenRecord): string | undefined {
    const now = clock.now()
    for (const [id, at] of revokedHere) if (now - at > stalenessMs) revokedHere.delete(id)
    return record.ancestors?.find((id) => revokedHere.has(`${record.tenantId}|${id}`))
  }

  /**
   * Forget a token's cached status on this instance after it was revoked here, and refuse its
   * descendants at once, though their cached status still holds it as it was.
   */
  function forget(tenantId: string, tokenId: string): void {
    statusCache.invalidate(`${tenantId}|${tokenId}`)
    revokedHere.set(`${tenantId}|${tokenId}`, clock.now())
  }

  return { authenticate, forget }
}

function ancestorRevoked(record: TokenRecord, revokedAncestor: string): AppError {
  return new AppError('token_revoked', 'A token this token was minted from has been revoked.', {
    headers: { 'www-authenticate': bearerChallenge },
    extra: { tokenId: record.tokenId, revokedAncestor },
  })
}

export type Authenticator = ReturnType<typeof createAuthenticator>
