import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { type AddressMatcher, parseAddress } from '../net/cidr.ts'

/**
 * The client's address and user agent, for token address ranges, login throttling and the
 * audit trail. The address is the socket's, unless the socket's peer is one of the operator's
 * trusted proxies (`KEYSTASH_TRUSTED_PROXIES`, which requestContext puts on the context): then
 * `X-Forwarded-For` is walked right to left, past every trusted hop, to the first one that is
 * not trusted. Anything left of that hop was written by the client and proves nothing.
 * Undefined when there is no socket, as in `app.request()` tests.
 */
export function clientOf(c: Context): Client {
  return clientFrom(c.env, c.req.header('user-agent'), {
    forwardedFor: c.req.header('x-forwarded-for'),
    trusted: (c.var as { trustedProxies?: AddressMatcher } | undefined)?.trustedProxies,
  })
}

export interface Client {
  address: string | undefined
  userAgent: string | undefined
}

export interface ProxyHeaders {
  forwardedFor: string | null | undefined
  /** The operator's trusted proxies; undefined when there are none. */
  trusted: AddressMatcher | undefined
}

/** `clientOf` from the adapter's bindings (`{ incoming }`) and the request's headers. */
export function clientFrom(
  env: unknown,
  userAgent: string | null | undefined,
  proxies?: ProxyHeaders,
): Client {
  let address: string | undefined
  try {
    address = getConnInfo({ env } as Context).remote.address
  } catch {
    address = undefined
  }
  if (proxies?.trusted && proxies.forwardedFor) {
    address = forwardedClient(address, proxies.forwardedFor, proxies.trusted)
  }
  return { address, userAgent: userAgent?.slice(0, 512) }
}

/**
 * The first untrusted hop, walking from the socket's peer leftwards through X-Forwarded-For
 * (each proxy appends the address it received the request from). A hop that is not an address
 * ends the walk with no address: nothing trustworthy can be said then.
 */
export function forwardedClient(
  peer: string | undefined,
  forwardedFor: string,
  trusted: AddressMatcher,
): string | undefined {
  let current = peer
  const hops = forwardedFor.split(',', 64)
  for (let i = hops.length - 1; i >= 0 && trusted(current); i--) {
    const hop = (hops[i] as string).trim()
    current = parseAddress(hop) ? hop : undefined
  }
  return current
}
