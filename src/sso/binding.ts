import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * What ties a sign-in's three steps (start, the provider's redirect back, finish) to one
 * browser. The browser keeps a random secret in a short-lived pre-login cookie; `state`, the
 * OIDC `nonce` and the PKCE code verifier are all derived from it, and the sign-in's record is
 * stored under a digest of it. So DynamoDB holds nothing that could finish a sign-in, and a
 * callback arriving in a browser without the cookie (a link forwarded, a `state` altered)
 * matches nothing.
 */
export interface LoginBinding {
  /** The cookie's value. */
  secret: string
  /** The key of the sign-in's record. */
  hash: string
  state: string
  nonce: string
  codeVerifier: string
}

const derive = (secret: string, purpose: string) =>
  createHmac('sha256', secret).update(`keystash-sso\0${purpose}`).digest('base64url')

export function newLoginBinding(): LoginBinding {
  return loginBinding(randomBytes(32).toString('base64url'))
}

/** The binding of a cookie's value; undefined for anything that is not one. */
export function loginBinding(secret: string): LoginBinding {
  return {
    secret,
    hash: createHash('sha256').update(`keystash-sso\0${secret}`).digest('base64url'),
    state: derive(secret, 'state'),
    nonce: derive(secret, 'nonce'),
    // 43 characters of base64url: the shortest verifier RFC 7636 allows, with 256 bits.
    codeVerifier: derive(secret, 'pkce'),
  }
}

export const isBindingSecret = (value: string | undefined): value is string =>
  value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)

export function sameState(expected: string, received: string | undefined): boolean {
  if (!received) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(received)
  return a.length === b.length && timingSafeEqual(a, b)
}
