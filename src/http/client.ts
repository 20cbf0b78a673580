import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'

/**
 * The client's address as the socket sees it (a proxy's address behind a load balancer), and
 * its user agent, for login throttling and the audit trail. Undefined when there is no socket,
 * as in `app.request()` tests.
 */
export function clientOf(c: Context): {
  address: string | undefined
  userAgent: string | undefined
} {
  let address: string | undefined
  try {
    address = getConnInfo(c).remote.address
  } catch {
    address = undefined
  }
  const userAgent = c.req.header('user-agent')?.slice(0, 512)
  return { address, userAgent }
}
