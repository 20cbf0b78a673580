import { compactVerify, decodeProtectedHeader } from 'jose'
import { MAX_TOKEN_LENGTH } from '../auth/jwt.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'

export interface TokenIdentity {
  tenantId: string
  tokenId: string
}

const ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Which of our tokens a rejected request used, so the rejection can be filed under its tenant.
 *
 * Only the signature is checked: a token that was refused because it expired, was revoked or
 * lacked a scope was still issued by us, so its `tid` and `jti` say truthfully whose it was;
 * nothing else in it is used. A token whose signature does not verify (or whose key is not
 * loaded; no storage read is made for a rejected request) names no tenant we can trust, so
 * the caller files it nowhere: events are per tenant, and a forged `tid` would let anyone
 * write into another tenant's audit trail. Such rejections go to the log only.
 */
export function createTokenIdentifier(ring: Pick<SigningKeyRing, 'publicKey' | 'hasPublicKey'>) {
  return async function identify(token: string): Promise<TokenIdentity | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined
    try {
      const header = decodeProtectedHeader(token)
      if (header.alg !== 'EdDSA' || typeof header.kid !== 'string') return undefined
      if (!ring.hasPublicKey(header.kid)) return undefined
      const key = await ring.publicKey(header.kid)
      if (!key) return undefined
      const { payload } = await compactVerify(token, key, { algorithms: ['EdDSA'] })
      const claims: unknown = JSON.parse(new TextDecoder().decode(payload))
      const { tid, jti } = (claims ?? {}) as { tid?: unknown; jti?: unknown }
      if (typeof tid !== 'string' || typeof jti !== 'string') return undefined
      if (!ID.test(tid) || !ID.test(jti)) return undefined
      return { tenantId: tid, tokenId: jti }
    } catch {
      return undefined
    }
  }
}

export type TokenIdentifier = ReturnType<typeof createTokenIdentifier>
