import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

export interface SessionCookie {
  /** The session token the browser sent, if any. */
  read(c: Context): string | undefined
  write(c: Context, token: string, expiresAt: string): void
  clear(c: Context): void
}

/**
 * The browser's session: the same token a program would send as a bearer token, held in an
 * `HttpOnly`, `SameSite=Strict` cookie that scripts never read. Over HTTPS (per
 * `KEYSTASH_PUBLIC_URL`) it is `Secure` and carries the `__Host-` prefix, so no subdomain and no
 * plain-HTTP page can set or shadow it.
 */
export function sessionCookie({ publicUrl }: { publicUrl: string | undefined }): SessionCookie {
  const secure = publicUrl !== undefined && new URL(publicUrl).protocol === 'https:'
  const name = secure ? '__Host-keystash_session' : 'keystash_session'
  const options = { httpOnly: true, sameSite: 'Strict', secure, path: '/' } as const
  return {
    read: (c) => getCookie(c, name) || undefined,
    write: (c, token, expiresAt) =>
      setCookie(c, name, token, {
        ...options,
        maxAge: Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000)),
      }),
    clear: (c) => {
      deleteCookie(c, name, options)
    },
  }
}

/**
 * The CSRF token of a session: a digest of the session token, which another site can neither
 * read (HttpOnly cookie) nor invert. Pages carry it in their forms and in a meta element; it
 * changes whenever the session does, and needs no storage.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update('keystash-csrf\0').update(sessionToken).digest('base64url')
}

export function csrfMatches(sessionToken: string, sent: string | undefined): boolean {
  if (!sent) return false
  const expected = Buffer.from(csrfTokenFor(sessionToken))
  const actual = Buffer.from(sent)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
