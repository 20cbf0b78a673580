import { createHash } from 'node:crypto'
import type { Context, Next } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { Principal } from '../../auth/principal.ts'
import { AppError } from '../../errors.ts'
import type {
  IdempotencyScope,
  IdempotencyStore,
  StoredResponse,
} from '../../storage/idempotency.ts'
import type { ResponseSealer } from '../../storage/idempotency-sealer.ts'
import { clientOf } from '../client.ts'
import type { AppEnv } from '../env.ts'
import { loggableError } from '../log-error.ts'

export interface IdempotencyOptions {
  store: IdempotencyStore
  sealer: ResponseSealer
  authenticator: Pick<Authenticator, 'authenticate'>
  /** Larger responses are not stored (a retry then runs the request again). */
  maxStoredBytes?: number
}

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/
const BEARER = /^Bearer +(\S+)$/i
const REPLAYED_HEADERS = ['content-type', 'cache-control', 'location'] as const

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

/**
 * `Idempotency-Key` for authenticated POSTs: the first request with a key runs; a retry with
 * the same key and the same request gets the first response again (with
 * `Idempotent-Replayed: true`) for 24 h, instead of creating a duplicate.
 *
 * - Keys are per tenant, and a request matches only with the same method, path, body and
 *   token: a key reused for anything else is 409 `idempotency_conflict` (reason `mismatch`).
 *   The token is part of the match so that one principal can never receive a response (a
 *   token string) created for another.
 * - While the first request runs, a duplicate gets 409 `idempotency_conflict` (reason
 *   `in_flight`) with `Retry-After`.
 * - Only 2xx responses are remembered: after an error the key is released, so a retry runs
 *   the request again (a 5xx may not have happened at all; a 4xx will answer the same).
 * - A response sent with `Cache-Control: no-store` carries a secret (DESIGN.md section 8,
 *   invariant 8): it is stored sealed under the platform KMS key, never in plaintext.
 * - Unauthenticated POSTs (sign-up, login) pass through untouched: the caller has no tenant.
 *
 * It authenticates the request itself (the routes authenticate again; the token-status cache
 * makes the second check cheap), because it runs before the routers' own `requireAuth`.
 */
export function idempotency({
  store,
  sealer,
  authenticator,
  maxStoredBytes = 256 * 1024,
}: IdempotencyOptions) {
  if (!Number.isInteger(maxStoredBytes) || maxStoredBytes < 1) {
    throw new TypeError('idempotency: maxStoredBytes must be a positive integer')
  }

  async function principalOf(c: Context<AppEnv>): Promise<Principal | undefined> {
    const token = BEARER.exec(c.req.header('authorization')?.trim() ?? '')?.[1]
    if (!token) return undefined
    try {
      // The route counts the request against the token's rate limits; this only looks.
      return (
        await authenticator.authenticate(token, { address: clientOf(c).address, limit: false })
      ).principal
    } catch {
      return undefined // the route's own requireAuth answers with the right 401
    }
  }

  // Only POSTs carry a key: anything else passes through without an async step of its own.
  return createMiddleware<AppEnv>((c, next) => (c.req.method === 'POST' ? onPost(c, next) : next()))

  async function onPost(c: Context<AppEnv>, next: Next) {
    const key = c.req.header('idempotency-key')
    if (key === undefined) return next()
    if (!KEY_FORMAT.test(key)) {
      throw new AppError(
        'bad_request',
        'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).',
      )
    }
    const principal = await principalOf(c)
    if (!principal) return next()

    const scope: IdempotencyScope = { tenantId: principal.tenantId, keyHash: sha256(key) }
    // bodyGuard has parsed (and size-checked) the body already; re-serialising it is stable.
    const body = c.req.bodyCache.json ? JSON.stringify(await c.req.bodyCache.json) : ''
    const url = new URL(c.req.url)
    const fingerprint = sha256(
      JSON.stringify(['POST', url.pathname + url.search, principal.tokenId, sha256(body)]),
    )

    const outcome = await store.begin(scope, fingerprint)
    if (outcome.kind === 'mismatch') {
      throw new AppError(
        'idempotency_conflict',
        'This Idempotency-Key was already used for a different request; use a new key.',
        { extra: { reason: 'mismatch' } },
      )
    }
    if (outcome.kind === 'in_flight') {
      throw new AppError(
        'idempotency_conflict',
        'A request with this Idempotency-Key is still being processed; retry shortly.',
        {
          extra: { reason: 'in_flight' },
          headers: { 'retry-after': String(outcome.retryAfterSeconds) },
        },
      )
    }
    if (outcome.kind === 'replay') return replay(scope, outcome.response)

    try {
      await next()
    } catch (error) {
      await store.release(scope, outcome.owner).catch(() => {})
      throw error
    }
    await remember(c, scope, outcome.owner)
  }

  async function replay(scope: IdempotencyScope, stored: StoredResponse) {
    const body =
      stored.sealed !== undefined ? await sealer.open(scope, stored.sealed) : (stored.body ?? '')
    const headers = new Headers(stored.headers)
    headers.set('idempotent-replayed', 'true')
    return new Response(stored.status === 204 ? null : body, { status: stored.status, headers })
  }

  async function remember(c: Context<AppEnv>, scope: IdempotencyScope, owner: string) {
    const res = c.res
    try {
      const text = res.ok ? await res.clone().text() : undefined
      if (text === undefined || new TextEncoder().encode(text).length > maxStoredBytes) {
        await store.release(scope, owner)
        return
      }
      const headers: Record<string, string> = {}
      for (const name of REPLAYED_HEADERS) {
        const value = res.headers.get(name)
        if (value !== null) headers[name] = value
      }
      const secret = /\bno-store\b/i.test(res.headers.get('cache-control') ?? '')
      await store.complete(scope, owner, {
        status: res.status,
        headers,
        ...(secret ? { sealed: await sealer.seal(scope, text) } : { body: text }),
      })
    } catch (error) {
      // The request itself succeeded: answer it. The key is given back, so a retry runs the
      // request again (at worst a duplicate, which is what a client without a key would get).
      c.get('log')?.warn({ error: loggableError(error) }, 'idempotency record not stored')
      await store.release(scope, owner).catch(() => {})
    }
  }
}
