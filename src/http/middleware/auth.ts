import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Authenticator } from '../../auth/authenticate.ts'
import { AppError } from '../../errors.ts'
import type { ItemKey } from '../../storage/keys.ts'
import { clientOf } from '../client.ts'
import type { AppEnv } from '../env.ts'

export const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i
const QUERY_CREDENTIALS = new Set([
  'token',
  'access_token',
  'api_key',
  'apikey',
  'key',
  'jwt',
  'auth',
])

export interface RequireAuthOptions {
  authenticator: Pick<Authenticator, 'authenticate'>
  /**
   * Items the route will need, read in the same round trip as the token's status. They are
   * only known once the token has been verified, hence a function of the principal's tenant.
   */
  prefetch?: (c: Context<AppEnv>, tenantId: string) => ItemKey[]
}

/**
 * Authenticates the request from its `Authorization: Bearer` header, and only from there:
 * credentials in the query string end up in proxy logs and browser history, so a request that
 * carries one is refused rather than silently ignored.
 */
export function requireAuth({ authenticator, prefetch }: RequireAuthOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const url = c.req.url
    const query = url.includes('?') ? new URL(url).searchParams : undefined
    // Parameter names are compared without case: `?Access_Token=` leaks just as well.
    if (query && [...query.keys()].some((name) => QUERY_CREDENTIALS.has(name.toLowerCase()))) {
      throw new AppError(
        'unauthorized',
        'Credentials are accepted only in the Authorization header, never in the query string.',
        { headers: { 'www-authenticate': 'Bearer realm="keystash", error="invalid_request"' } },
      )
    }
    const header = c.req.header('authorization')
    if (!header) {
      throw new AppError('unauthorized', 'Send a token in the Authorization: Bearer header.', {
        headers: { 'www-authenticate': 'Bearer realm="keystash"' },
      })
    }
    const match = BEARER.exec(header.trim())
    if (!match?.[1]) {
      throw new AppError('invalid_token', 'The Authorization header is not a Bearer token.', {
        headers: { 'www-authenticate': 'Bearer realm="keystash", error="invalid_token"' },
      })
    }
    const token = match[1]
    const { principal, organization, prefetched, rateLimit } = await authenticator.authenticate(
      token,
      {
        prefetch: prefetch ? (tenantId: string) => prefetch(c, tenantId) : undefined,
        address: clientOf(c).address,
      },
    )
    c.set('principal', principal)
    c.set('organization', organization)
    c.set('prefetched', prefetched)
    if (rateLimit) c.set('rateLimit', rateLimit.headers)
    await next()
  })
}
