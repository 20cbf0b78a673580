import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOutboundFetch, OutboundRefusedError } from '../../src/net/outbound.ts'

/**
 * Real HTTP servers on loopback, reached through names that an injected resolver maps to
 * addresses: the way a hostile issuer or receiver would look to the server.
 */

let server: http.Server
let origin: string
let port: number
const hits: string[] = []
const pending = new Set<http.ServerResponse>()

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/jwks') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keys: [] }))
    } else if (req.url === '/echo') {
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => res.end(`${req.method} ${req.headers['content-type']} ${body}`))
    } else if (req.url === '/metadata-redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end()
    } else if (req.url === '/slow') {
      pending.add(res)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys":[')
      // Never finishes: the total timeout has to end it.
    } else if (req.url === '/huge') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(Buffer.alloc(64 * 1024, 'a'))
    } else if (req.url === '/huge-declared') {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) })
      res.write('a')
      pending.add(res)
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
  origin = `http://127.0.0.1:${port}`
})

afterAll(async () => {
  for (const res of pending) res.destroy()
  server.closeAllConnections()
  server.close()
})

const toLoopback = async () => [{ address: '127.0.0.1', family: 4 }]

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(OutboundRefusedError)
  return (error as OutboundRefusedError).code
}

describe('outbound requests against real servers', () => {
  it('fetches from a local server when local addresses are allowed', async () => {
    const outbound = createOutboundFetch({ production: false, allowLocal: true })
    const response = await outbound(`${origin}/jwks`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(await response.json()).toEqual({ keys: [] })
  })

  it('sends method, headers and body like fetch', async () => {
    const outbound = createOutboundFetch({ production: false, allowLocal: true })
    const response = await outbound(`${origin}/echo`, {
      method: 'POST',
      body: new URLSearchParams({ a: '1' }),
    })
    expect(await response.text()).toBe('POST application/x-www-form-urlencoded;charset=UTF-8 a=1')
  })

  it('refuses a name that resolves to 127.0.0.1 in production, without connecting', async () => {
    const before = hits.length
    const outbound = createOutboundFetch({ production: true, resolveHost: toLoopback })
    expect(await refusal(outbound(`https://issuer.example:${port}/jwks`))).toBe('outbound_address')
    expect(hits.length).toBe(before)
  })

  it('refuses a name that resolves to loopback also in development unless allowLocal', async () => {
    const outbound = createOutboundFetch({ production: false, resolveHost: toLoopback })
    expect(await refusal(outbound(`http://issuer.example:${port}/jwks`))).toBe('outbound_address')
  })

  it('checks the address at each connection, so a rebinding name is caught', async () => {
    const answers = [
      [{ address: '93.184.216.34', family: 4 }],
      [{ address: '127.0.0.1', family: 4 }],
    ]
    // Whatever the name resolved to before, the connection itself gets the loopback answer.
    const rebinding = async () => answers.shift() ?? [{ address: '127.0.0.1', family: 4 }]
    await rebinding()
    const outbound = createOutboundFetch({ production: false, resolveHost: rebinding })
    expect(await refusal(outbound(`http://rebind.example:${port}/jwks`))).toBe('outbound_address')
  })

  it('refuses when any of a name’s addresses is refused', async () => {
    const mixed = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]
    const outbound = createOutboundFetch({ production: false, resolveHost: mixed })
    expect(await refusal(outbound(`http://mixed.example:${port}/jwks`))).toBe('outbound_address')
  })

  it('reaches an operator-listed private host name', async () => {
    const outbound = createOutboundFetch({
      production: false,
      allowPrivateHosts: ['issuer.corp.example'],
      resolveHost: toLoopback,
    })
    const response = await outbound(`http://issuer.corp.example:${port}/jwks`)
    expect(await response.json()).toEqual({ keys: [] })
    expect(await refusal(outbound(`http://other.corp.example:${port}/jwks`))).toBe(
      'outbound_address',
    )
  })

  it('refuses a redirect to 169.254.169.254 instead of following it', async () => {
    const outbound = createOutboundFetch({ production: false, allowLocal: true })
    const before = hits.length
    expect(await refusal(outbound(`${origin}/metadata-redirect`))).toBe('outbound_redirect')
    expect(hits.slice(before)).toEqual(['/metadata-redirect'])
  })

  it('ends a slow response at the total timeout', async () => {
    const outbound = createOutboundFetch({
      production: false,
      allowLocal: true,
      totalTimeoutMs: 300,
    })
    expect(await refusal(outbound(`${origin}/slow`))).toBe('outbound_timeout')
    // A per-request timeout overrides the default.
    const lenient = createOutboundFetch({ production: false, allowLocal: true })
    expect(await refusal(lenient(`${origin}/slow`, { timeoutMs: 200 }))).toBe('outbound_timeout')
  })

  it('ends a connection that is not made within the connect timeout', async () => {
    // A resolver that never answers holds the connection in its lookup, as a black-holed
    // name server or host would; the total timeout is far away, so only the connect one can end it.
    const outbound = createOutboundFetch({
      production: false,
      connectTimeoutMs: 200,
      totalTimeoutMs: 60_000,
      resolveHost: () => new Promise(() => {}),
    })
    const error = await outbound(`http://never.example:${port}/jwks`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutboundRefusedError)
    expect(error).toMatchObject({ code: 'outbound_timeout', message: /no connection/ })
  })

  it('caps the body while it streams in, and trusts no content-length', async () => {
    const outbound = createOutboundFetch({ production: false, allowLocal: true, maxBytes: 4096 })
    expect(await refusal(outbound(`${origin}/huge`))).toBe('outbound_too_large')
    expect(await refusal(outbound(`${origin}/huge-declared`))).toBe('outbound_too_large')
    const roomy = createOutboundFetch({ production: false, allowLocal: true })
    expect((await roomy(`${origin}/huge`)).headers.get('content-type')).toBe('application/json')
    expect(await refusal(roomy(`${origin}/huge`, { maxBytes: 1000 }))).toBe('outbound_too_large')
  })

  it('surfaces a refused connection as fetch does, with a TypeError', async () => {
    const closed = http.createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const closedPort = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    const outbound = createOutboundFetch({ production: false, allowLocal: true })
    await expect(outbound(`http://127.0.0.1:${closedPort}/`)).rejects.toThrow(TypeError)
  })

  it('honours an abort signal', async () => {
    const outbound = createOutboundFetch({ production: false, allowLocal: true })
    const controller = new AbortController()
    const request = outbound(`${origin}/slow`, { signal: controller.signal })
    controller.abort(new DOMException('stop', 'TimeoutError'))
    await expect(request).rejects.toMatchObject({ name: 'TimeoutError' })
  })
})
