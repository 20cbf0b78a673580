import { AppError } from '../errors.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'
import type { ItemKey } from '../storage/keys.ts'
import { itemKey } from '../storage/keys.ts'
import type { LastUsedTracker } from '../storage/last-used.ts'
import type { RecordCache } from '../storage/record-cache.ts'
import type { TokenStatus, TokenStatusReader } from '../storage/token-status.ts'
import type { Clock } from './clock.ts'
import { recallVerifiedToken, type VerifyTokenOptions, verifyToken } from './jwt.ts'
import type { Principal } from './principal.ts'
import type { SigningKeyRing } from './signing-keys.ts'

export interface AuthenticatorDeps {
  ring: Pick<SigningKeyRing, 'publicKey' | 'hasPublicKey' | 'clock'>
  verify: VerifyTokenOptions
  readStatus: TokenStatusReader
  /** Token status served from memory for at most the configured staleness bound. */
  statusCache: RecordCache<TokenStatus>
  lastUsed: Pick<LastUsedTracker, 'touchFor'>
  clock: Clock
}

export interface Authenticated {
  principal: Principal
  /** The token's organization, as read with its status (within the staleness bound). */
  organization: OrganizationRecord
  /** Items read in the same round trip as the token's status, when it was read. */
  prefetched: Map<string, Record<string, unknown>> | undefined
}

const bearerChallenge = 'Bearer realm="keystash", error="invalid_token"'

/**
 * Turns a bearer token into a principal: signature, algorithm, issuer, audience and expiry
 * first (no I/O), then the token record, which is the source of truth for revocation, and the
 * organization, which may have been deleted.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const { ring, verify, readStatus, statusCache, lastUsed, clock } = deps
  const checked = new WeakMap<
    object,
    { claims: Principal; expiresAtMs: number; principal: Principal }
  >()

  async function authenticate(
    token: string,
    prefetch?: (tenantId: string) => ItemKey[],
  ): Promise<Authenticated> {
    const claims = await verifyToken(ring, token, verify)
    const cacheId = `${claims.tenantId}|${claims.tokenId}`
    let prefetched: Authenticated['prefetched']
    const status = await statusCache.get(cacheId, async () => {
      const read = await readStatus(
        claims.tenantId,
        claims.tokenId,
        prefetch?.(claims.tenantId),
        claims.trustId,
      )
      prefetched = read.extra
      return read.status
    })
    return { ...admit(claims, status), prefetched }
  }

  /**
   * `authenticate` with what this instance already holds: a token it verified before and a
   * status read within the staleness bound. Undefined when either would need I/O; the same
   * errors as `authenticate` when the token may not be used.
   */
  function authenticateCached(token: string): Omit<Authenticated, 'prefetched'> | undefined {
    const claims = recallVerifiedToken(ring, token, verify)
    if (claims === undefined) return undefined
    const status = statusCache.peek(`${claims.tenantId}|${claims.tokenId}`)
    return status === undefined ? undefined : admit(claims, status)
  }

  /** The checks on a verified token's status, the same whether the status was read or remembered. */
  function admit(claims: Principal, status: TokenStatus): Omit<Authenticated, 'prefetched'> {
    const record = status.token
    if (!record || record.kind !== claims.kind || record.tenantId !== claims.tenantId) {
      throw new AppError('invalid_token', 'The token is not known.', {
        headers: { 'www-authenticate': bearerChallenge },
      })
    }
    // A token from a deleted trust relationship is revoked with it (and so are its children,
    // which carry the same relationship).
    if (record.revokedAt || (claims.trustId !== undefined && status.trustActive !== true)) {
      throw new AppError('token_revoked', 'The token has been revoked.', {
        headers: { 'www-authenticate': bearerChallenge },
        extra: { tokenId: record.tokenId },
      })
    }
    // Worked out once per cached status record (and verified token), not on every request.
    let known = checked.get(record)
    if (known === undefined || known.claims !== claims) {
      known = {
        claims,
        expiresAtMs: Date.parse(record.expiresAt),
        principal: { ...claims, ...(record.name ? { name: record.name } : {}) },
      }
      checked.set(record, known)
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
    lastUsed.touchFor(record, () => [itemKey.token(record.tenantId, record.tokenId)])
    return { principal: known.principal, organization: status.organization }
  }

  /** Forget a token's cached status on this instance (after it was revoked here). */
  function forget(tenantId: string, tokenId: string): void {
    statusCache.invalidate(`${tenantId}|${tokenId}`)
  }

  return { authenticate, authenticateCached, forget }
}

export type Authenticator = ReturnType<typeof createAuthenticator>
