import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'

/**
 * The client's address as the socket sees it (a proxy's address behind a load balancer), and
 * its user agent, for login throttling and the audit trail. Undefined when there is no socket,
 * as in `app.request()` tests.
 */
export function clientOf(c: Context): Client {
  return clientFrom(c.env, c.req.header('user-agent'))
}

export interface Client {
  address: string | undefined
  userAgent: string | undefined
}

/** `clientOf` from the adapter's bindings (`{ incoming }`) and the User-Agent header. */
export function clientFrom(env: unknown, userAgent: string | null | undefined): Client {
  let address: string | undefined
  try {
    address = getConnInfo({ env } as Context).remote.address
  } catch {
    address = undefined
  }
  return { address, userAgent: userAgent?.slice(0, 512) }
}
