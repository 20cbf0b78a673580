import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { SSO_LOGIN_SECONDS } from '../domain/sso-login.ts'
import { isBindingSecret } from '../sso/binding.ts'

/**
 * The pre-login cookie of a single sign-on in flight (sso/binding.ts). `SameSite=Lax`, because
 * the provider sends the browser back with a cross-site top-level navigation, which a Strict
 * cookie would not accompany; `HttpOnly`, ten minutes, and `__Host-`/`Secure` over HTTPS. It
 * grants nothing by itself: the session is issued by a later same-site request.
 */
export function ssoCookie({ publicUrl }: { publicUrl: string | undefined }) {
  const secure = publicUrl !== undefined && new URL(publicUrl).protocol === 'https:'
  const name = secure ? '__Host-keystash_sso' : 'keystash_sso'
  const options = { httpOnly: true, sameSite: 'Lax', secure, path: '/' } as const
  return {
    name,
    read(c: Context): string | undefined {
      const value = getCookie(c, name)
      return isBindingSecret(value) ? value : undefined
    },
    write: (c: Context, secret: string) =>
      setCookie(c, name, secret, { ...options, maxAge: SSO_LOGIN_SECONDS }),
    clear: (c: Context) => {
      deleteCookie(c, name, options)
    },
  }
}

export type SsoCookie = ReturnType<typeof ssoCookie>
