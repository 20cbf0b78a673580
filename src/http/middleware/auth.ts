import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Authenticator } from '../../auth/authenticate.ts'
import { AppError } from '../../errors.ts'
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
}

/**
 * Authenticates the request from its `Authorization: Bearer` header (see `bearerToken`).
 */
export function requireAuth({ authenticator }: RequireAuthOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { principal, organization, rateLimit } = await authenticator.authenticate(
      bearerToken(c),
      { address: clientOf(c).address },
    )
    c.set('principal', principal)
    c.set('organization', organization)
    if (rateLimit) c.set('rateLimit', rateLimit.headers)
    await next()
  })
}

/**
 * The request's bearer token, from its `Authorization: Bearer` header and only from there:
 * credentials in the query string end up in proxy logs and browser history, so a request that
 * carries one is refused rather than silently ignored.
 */
export function bearerToken(c: Context<AppEnv>): string {
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
  return match[1]
}
