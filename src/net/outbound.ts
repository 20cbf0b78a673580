import { promises as dns, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { addressRefusal, normalizeHostName, parseAllowList } from './address-policy.ts'

/**
 * The one way the server calls a URL that a tenant supplied (OIDC issuers and their key sets,
 * identity providers, webhook receivers). A tenant must not be able to point the server at
 * its own network, the cloud metadata service or a slow or endless responder:
 *
 * - `https` only in production;
 * - only global unicast addresses (address-policy.ts), checked on the address the socket
 *   actually connects to: inside the connection's DNS lookup, so a name that resolves to a
 *   public address for a check and to 127.0.0.1 for the connection (DNS rebinding) is still
 *   refused; literal IP hosts are checked before connecting, since no lookup runs for them;
 * - no redirects: a 3xx answer is refused, never followed;
 * - a connect timeout, a total timeout covering the whole body, and a cap on the body size
 *   counted while it streams in (a `content-length` is not trusted).
 *
 * The result is a `fetch`-compatible function (jose's and openid-client's `customFetch`).
 * Requests go through `node:http(s)` rather than the global fetch because only there can the
 * connection's lookup be replaced per request.
 */

export type OutboundRefusalCode =
  | 'outbound_url'
  | 'outbound_scheme'
  | 'outbound_address'
  | 'outbound_redirect'
  | 'outbound_timeout'
  | 'outbound_too_large'

export class OutboundRefusedError extends Error {
  override readonly name = 'OutboundRefusedError'
  readonly code: OutboundRefusalCode

  constructor(code: OutboundRefusalCode, message: string) {
    super(message)
    this.code = code
  }
}

export const isOutboundRefusal = (error: unknown): error is OutboundRefusedError =>
  error instanceof OutboundRefusedError

/** Resolves a host name to every address it has (`dns.lookup` with `all: true` by default). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>

export interface OutboundOptions {
  /** Production: plain `http` URLs are refused (unless `allowLocal`). */
  production: boolean
  /**
   * The operator's list of private hosts that may be reached: host names (which may then
   * resolve to loopback, private or CGNAT addresses), single addresses or CIDR networks.
   */
  allowPrivateHosts?: readonly string[]
  /** Development and tests only: loopback and private addresses, and plain `http`, allowed. */
  allowLocal?: boolean
  connectTimeoutMs?: number
  totalTimeoutMs?: number
  maxBytes?: number
  /** How host names become addresses; tests inject one to play a hostile DNS. */
  resolveHost?: ResolveHost
}

export type OutboundInit = RequestInit & { timeoutMs?: number; maxBytes?: number }
export type OutboundFetch = (
  input: string | URL | Request,
  init?: OutboundInit,
) => Promise<Response>

const defaultResolve: ResolveHost = (hostname) => dns.lookup(hostname, { all: true })

export function createOutboundFetch({
  production,
  allowPrivateHosts = [],
  allowLocal = false,
  connectTimeoutMs = 5_000,
  totalTimeoutMs = 10_000,
  maxBytes = 1024 * 1024,
  resolveHost = defaultResolve,
}: OutboundOptions): OutboundFetch {
  for (const [name, value] of Object.entries({ connectTimeoutMs, totalTimeoutMs, maxBytes })) {
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`${name} must be a positive integer`)
  }
  const allowList = parseAllowList(allowPrivateHosts)
  const policy = { allowLocal, networks: allowList.networks }

  const checkAddress = (address: string, host: string, trustedName: boolean) => {
    const refusal = addressRefusal(address, policy, trustedName)
    if (refusal !== undefined)
      throw new OutboundRefusedError(
        'outbound_address',
        `${host} resolves to ${address} (${refusal}), which outbound requests may not reach`,
      )
  }

  /** The connection's lookup: every address the name has must pass, or none is used. */
  const guardedLookup =
    (host: string, trustedName: boolean): LookupFunction =>
    (hostname, options, callback) => {
      resolveHost(hostname).then(
        (addresses) => {
          try {
            if (addresses.length === 0) throw new Error(`${hostname} has no address`)
            for (const { address } of addresses) checkAddress(address, host, trustedName)
          } catch (error) {
            callback(error as NodeJS.ErrnoException, '', 0)
            return
          }
          const wanted = options.family
            ? addresses.filter((entry) => entry.family === options.family)
            : addresses
          const usable = wanted.length > 0 ? wanted : addresses
          const [first] = usable
          if (options.all) (callback as (e: null, a: LookupAddress[]) => void)(null, usable)
          else if (first) callback(null, first.address, first.family)
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      )
    }

  return async (input, init = {}) => {
    let request: Request
    try {
      request = new Request(input, init)
    } catch {
      // Unparsable, or carrying credentials; the message repeats neither.
      throw new OutboundRefusedError('outbound_url', 'not a URL that can be fetched')
    }
    const url = new URL(request.url)
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new OutboundRefusedError('outbound_scheme', `${url.protocol} URLs are not fetched`)
    if (url.protocol === 'http:' && production && !allowLocal)
      throw new OutboundRefusedError('outbound_scheme', 'only https URLs are fetched')
    // URL gives IPv6 literals in brackets; the policy wants the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const trustedName = allowList.names.has(normalizeHostName(host))
    if (isIP(host)) checkAddress(host, host, false)

    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer())
    return send({
      url,
      method: request.method,
      headers: Object.fromEntries(request.headers),
      body,
      signal: init.signal ?? undefined,
      lookup: guardedLookup(host, trustedName),
      connectTimeoutMs,
      totalTimeoutMs: init.timeoutMs ?? totalTimeoutMs,
      maxBytes: init.maxBytes ?? maxBytes,
    })
  }
}

interface SendOptions {
  url: URL
  method: string
  headers: Record<string, string>
  body: Buffer | undefined
  signal: AbortSignal | undefined
  lookup: LookupFunction
  connectTimeoutMs: number
  totalTimeoutMs: number
  maxBytes: number
}

/** One request, its whole body read under the caps before the Response is handed back. */
function send(options: SendOptions): Promise<Response> {
  const { url, maxBytes } = options
  return new Promise<Response>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http
    const req = client.request(url, {
      method: options.method,
      headers: options.headers,
      lookup: options.lookup,
      // A fresh connection per request: every connection goes through the guarded lookup.
      agent: false,
    })
    let settled = false
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(connectTimer)
      clearTimeout(totalTimer)
      options.signal?.removeEventListener('abort', onAbort)
      req.destroy()
      reject(error)
    }
    const refuse = (code: 'outbound_timeout' | 'outbound_too_large', message: string) =>
      fail(new OutboundRefusedError(code, message))
    const connectTimer = setTimeout(
      () =>
        refuse(
          'outbound_timeout',
          `no connection to ${url.host} within ${options.connectTimeoutMs} ms`,
        ),
      options.connectTimeoutMs,
    )
    const totalTimer = setTimeout(
      () =>
        refuse(
          'outbound_timeout',
          `${url.host} did not answer within ${options.totalTimeoutMs} ms`,
        ),
      options.totalTimeoutMs,
    )
    const onAbort = () => fail(options.signal?.reason)
    if (options.signal?.aborted) return onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })

    req.on('socket', (socket) => socket.once('connect', () => clearTimeout(connectTimer)))
    req.on('error', (error) =>
      fail(
        error instanceof OutboundRefusedError
          ? error
          : new TypeError('fetch failed', { cause: error }),
      ),
    )
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400)
        return fail(
          new OutboundRefusedError(
            'outbound_redirect',
            `${url.host} answered ${status}; redirects are not followed`,
          ),
        )
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > maxBytes)
        return refuse(
          'outbound_too_large',
          `${url.host} announced ${declared} bytes, above ${maxBytes}`,
        )
      const chunks: Buffer[] = []
      let received = 0
      res.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > maxBytes)
          return refuse('outbound_too_large', `${url.host} sent more than ${maxBytes} bytes`)
        chunks.push(chunk)
      })
      res.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })))
      res.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(connectTimer)
        clearTimeout(totalTimer)
        options.signal?.removeEventListener('abort', onAbort)
        try {
          const headers = new Headers()
          for (const [name, values] of Object.entries(res.headersDistinct)) {
            for (const value of values ?? []) headers.append(name, value)
          }
          const empty = options.method === 'HEAD' || status === 204 || status === 205
          resolve(
            new Response(empty ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage ?? '',
              headers,
            }),
          )
        } catch (error) {
          // A status or header the Fetch API cannot represent.
          reject(new TypeError('fetch failed', { cause: error }))
        }
      })
    })
    req.end(options.body)
  })
}
