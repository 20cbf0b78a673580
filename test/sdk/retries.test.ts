import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AbortError,
  ConflictError,
  ConnectionError,
  KeyUnavailableError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
} from '../../sdk/src/index.ts'
import { type Fault, faultyFetch, unavailable } from './support/faults.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

let server: SdkServer
let session: string
beforeAll(async () => {
  server = await startSdkServer()
  session = (await server.signup()).session
})
afterAll(() => server?.close())

function setup(options: Parameters<SdkServer['client']>[1] = {}) {
  const spy = faultyFetch()
  const times: number[] = []
  const timed: typeof spy.fetch = (input, init) => {
    times.push(performance.now())
    return spy.fetch(input, init)
  }
  return { spy, times, sdk: server.client(session, { fetch: timed, ...options }) }
}

const problem = (status: number, code: string, headers?: Record<string, string>): Fault => ({
  kind: 'respond',
  status,
  ...(headers ? { headers } : {}),
  body: { status, code, detail: 'injected', requestId: 'req_injected' },
})

describe('retries', () => {
  it('retries 5xx, 408, 429 and connection failures, then succeeds', async () => {
    const { spy, sdk } = setup({ maxRetries: 4 })
    spy.next(unavailable(), problem(408, 'timeout'), problem(429, 'rate_limited'), {
      kind: 'network',
    })
    expect((await sdk.me()).kind).toBe('session')
    expect(spy.seen).toHaveLength(5)
  })

  it('gives up after maxRetries with the last error', async () => {
    const { spy, sdk } = setup()
    spy.next(unavailable(), unavailable(), unavailable())
    const error = await sdk.me().catch((e) => e)
    expect(error).toBeInstanceOf(ServerError)
    expect(error).toMatchObject({ status: 503, code: 'storage_unavailable' })
    expect(error.requestId).toBe('req_fault')
    expect(spy.seen).toHaveLength(3) // the default maxRetries is 2
  })

  it('never retries other 4xx', async () => {
    const { spy, sdk } = setup()
    await expect(sdk.tokens.get('tok_missing')).rejects.toBeInstanceOf(NotFoundError)
    spy.next(problem(409, 'conflict'))
    await expect(sdk.me()).rejects.toBeInstanceOf(ConflictError)
    expect(spy.seen).toHaveLength(2)
  })

  it('does not retry a KEK that only an operator can fix, but retries KMS outages', async () => {
    const { spy, sdk } = setup()
    spy.next(problem(503, 'kek_disabled'))
    const error = await sdk.me().catch((e) => e)
    expect(error).toBeInstanceOf(KeyUnavailableError)
    expect(error).toBeInstanceOf(ServerError)
    expect(spy.seen).toHaveLength(1)
    spy.next(problem(503, 'kms_unavailable'), problem(503, 'kms_throttled'))
    expect((await sdk.me()).kind).toBe('session')
    expect(spy.seen).toHaveLength(4)
  })

  it('waits as long as Retry-After or retry-after-ms says', async () => {
    const { spy, times, sdk } = setup({ backoff: { initialDelayMs: 1, maxDelayMs: 1 } })
    spy.next(problem(429, 'rate_limited', { 'retry-after': '1' }))
    await sdk.me()
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(990)
    spy.next(problem(503, 'storage_unavailable', { 'retry-after-ms': '250' }))
    await sdk.me()
    expect((times[3] ?? 0) - (times[2] ?? 0)).toBeGreaterThanOrEqual(245)
  })

  it('stops when Retry-After asks for more than a minute, and says how long', async () => {
    const { spy, sdk } = setup()
    spy.next(problem(429, 'rate_limited', { 'retry-after': '3600' }))
    const error = await sdk.me().catch((e) => e)
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error.retryAfterMs).toBe(3_600_000)
    expect(spy.seen).toHaveLength(1)
  })

  it('retries a 409 that carries Retry-After (an Idempotency-Key still in flight)', async () => {
    const { spy, sdk } = setup()
    spy.next(problem(409, 'idempotency_conflict', { 'retry-after': '0' }))
    expect((await sdk.me()).kind).toBe('session')
    expect(spy.seen).toHaveLength(2)
  })

  it('fails with ConnectionError when nothing listens', async () => {
    const sdk = server.client(session, {
      baseUrl: 'http://127.0.0.1:1',
      maxRetries: 1,
    })
    const error = await sdk.me().catch((e) => e)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).not.toBeInstanceOf(TimeoutError)
    expect(error.code).toBe('connection_error')
  })
})

describe('idempotent creates', () => {
  it('sends one Idempotency-Key per call, kept across its retries; the server answers the first result', async () => {
    const { spy, sdk } = setup()
    // The first attempt reaches the server and creates the token; its response is lost.
    spy.next({ kind: 'after', status: 503 })
    const created = await sdk.tokens.create({
      name: 'retried-create',
      scopes: ['keys:read'],
      expiresIn: 600,
    })
    const [first, second] = spy.seen
    expect(spy.seen).toHaveLength(2)
    expect(first?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/)
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key'])

    const all = await sdk.tokens.list({ limit: 100 }).toArray()
    const named = all.filter((t) => t.name === 'retried-create')
    expect(named.map((t) => t.id)).toEqual([created.id])
    // The replayed response carries the token string, and it works.
    expect((await server.client(created.token).me()).tokenId).toBe(created.id)

    await sdk.tokens.create({ name: 'another', scopes: ['keys:read'], expiresIn: 600 })
    expect(spy.seen.at(-1)?.headers['idempotency-key']).not.toBe(first?.headers['idempotency-key'])
    expect(spy.seen.find((r) => r.method === 'GET')?.headers['idempotency-key']).toBeUndefined()
  })
})

describe('timeouts and cancellation', () => {
  it('times out each attempt after timeoutMs, retrying timeouts', async () => {
    const { spy, sdk } = setup({ timeoutMs: 100 })
    spy.next({ kind: 'hang' })
    expect((await sdk.me()).kind).toBe('session')
    expect(spy.seen).toHaveLength(2)

    spy.next({ kind: 'hang' })
    const error = await sdk.me({ maxRetries: 0 }).catch((e) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error.code).toBe('timeout')
  })

  it('takes a per-request timeout over the client default', async () => {
    const { spy, sdk } = setup() // 60 s by default
    spy.next({ kind: 'hang' })
    await expect(sdk.me({ timeoutMs: 50, maxRetries: 0 })).rejects.toBeInstanceOf(TimeoutError)
  })

  it('rejects with AbortError when the signal fires, without retrying', async () => {
    const { spy, sdk } = setup()
    const controller = new AbortController()
    spy.next({ kind: 'hang' })
    const pending = sdk.me({ signal: controller.signal })
    await expect.poll(() => spy.seen.length).toBe(1)
    controller.abort(new Error('user gave up'))
    const error = await pending.catch((e) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error.name).toBe('AbortError')
    expect(error.cause).toEqual(new Error('user gave up'))
    expect(spy.seen).toHaveLength(1)
  })

  it('aborts the wait between retries, and sends nothing for an already aborted signal', async () => {
    const { spy, sdk } = setup()
    const controller = new AbortController()
    spy.next(unavailable({ 'retry-after': '30' }))
    const pending = sdk.me({ signal: controller.signal })
    await expect.poll(() => spy.seen.length).toBe(1)
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(AbortError)
    await expect(sdk.me({ signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
    expect(spy.seen).toHaveLength(1)
  })
})
