import { randomBytes } from 'node:crypto'
import { createMiddleware } from 'hono/factory'
import type { Authenticator } from '../../auth/authenticate.ts'
import { AppError, isAppError } from '../../errors.ts'
import type { DashboardEnv } from './env.ts'
import { formOf } from './form.ts'
import { csrfMatches, csrfTokenFor, type SessionCookie } from './session-cookie.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD'])

/**
 * Headers on every dashboard response, errors and redirects included: a script policy that
 * admits only this response's nonce (no inline handlers, no `eval`, nothing from elsewhere),
 * no framing, and nothing kept in any cache, since pages may show values and token strings.
 */
export function pageHeaders() {
  return createMiddleware<DashboardEnv>(async (c, next) => {
    const nonce = randomBytes(16).toString('base64')
    c.set('nonce', nonce)
    const headers = securityHeaders(nonce)
    for (const [name, value] of Object.entries(headers)) c.header(name, value)
    await next()
    // Again on the final response, in case a handler built its own; a page that asked for no
    // referrer at all (the pages one-time links open) keeps it.
    const strict = c.res.headers.get('referrer-policy') === 'no-referrer'
    for (const [name, value] of Object.entries(headers)) {
      if (!(strict && name === 'referrer-policy')) c.res.headers.set(name, value)
    }
  })
}

export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      "style-src 'self'",
      "img-src 'self'",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Not `no-referrer`: with it, browsers send `Origin: null` on the pages' own form posts.
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
  }
}

/**
 * State-changing requests must come from a page of this server: the `Origin` the browser sent
 * (or, without one, `Sec-Fetch-Site: same-origin`) must be the public URL's origin, or the
 * request's own when no public URL is configured. An opaque `Origin: null` proves nothing, so
 * it too falls back to `Sec-Fetch-Site`, which pages cannot set.
 */
export function sameOrigin({ publicUrl }: { publicUrl: string | undefined }) {
  const pinned = publicUrl === undefined ? undefined : new URL(publicUrl).origin
  return createMiddleware<DashboardEnv>(async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next()
    const expected = pinned ?? new URL(c.req.url).origin
    const origin = c.req.header('origin')
    const ok =
      origin && origin !== 'null'
        ? origin === expected
        : c.req.header('sec-fetch-site') === 'same-origin'
    if (!ok) throw crossSite()
    return next()
  })
}

/**
 * The session from the cookie, verified by the same authenticator as bearer tokens (status,
 * revocation, organization). Only sessions: an access token is never a browser credential.
 * Every state-changing request must also carry the session's CSRF token.
 */
export function signedIn({
  authenticator,
  cookie,
}: {
  authenticator: Pick<Authenticator, 'authenticate'>
  cookie: SessionCookie
}) {
  return createMiddleware<DashboardEnv>(async (c, next) => {
    const token = cookie.read(c)
    if (!token) throw signInRequired()
    let authenticated: Awaited<ReturnType<typeof authenticator.authenticate>>
    try {
      authenticated = await authenticator.authenticate(token)
    } catch (error) {
      if (isAppError(error) && error.status === 401) {
        cookie.clear(c)
        throw signInRequired()
      }
      throw error
    }
    if (authenticated.principal.kind !== 'session') {
      cookie.clear(c)
      throw signInRequired()
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const sent = c.req.header('x-csrf-token') ?? (await formOf(c)).get('csrf') ?? undefined
      if (!csrfMatches(token, sent)) throw crossSite()
    }
    c.set('principal', authenticated.principal)
    c.set('organization', authenticated.organization)
    c.set('sessionToken', token)
    c.set('csrf', csrfTokenFor(token))
    return next()
  })
}

const signInRequired = () => new AppError('unauthorized', 'Sign in to continue.')

const crossSite = () =>
  new AppError(
    'csrf_rejected',
    'This request did not come from a page of this server; reload the page and try again.',
  )
