import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  AuthenticationError,
  ConnectionError,
  KeyUnavailableError,
  NotFoundError,
  ServerError,
} from '../../sdk/src/index.ts'
import { faultyFetch, unavailable } from './support/faults.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

let server: SdkServer
beforeAll(async () => {
  server = await startSdkServer()
})
afterAll(() => server?.close())
afterEach(() => {
  vi.useRealTimers()
})

/** An organization with key `openai` = `sk-live-1`, an app token, and a spied client maker. */
async function setup() {
  const { session } = await server.signup()
  const owner = server.client(session)
  await owner.keys.create({ name: 'openai', value: 'sk-live-1', provider: 'generic' })
  const { token } = await owner.tokens.create({
    name: 'app',
    scopes: ['keys:read'],
    expiresIn: 3600,
    environment: 'production',
  })
  const spy = faultyFetch()
  const app = (options: Parameters<SdkServer['client']>[1] = {}) =>
    server.client(token, { fetch: spy.fetch, ...options })
  const valueReads = () => spy.seen.filter((r) => r.url.includes('/value')).length
  return { owner, spy, app, valueReads }
}

/** Moves Date.now() forward (only Date: sockets and timers keep running). */
function advance(ms: number) {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.now() + ms)
}

describe('no caching by default', () => {
  it('asks the server every time and has nothing to fall back on', async () => {
    const { spy, app, valueReads } = await setup()
    const sdk = app()
    await sdk.keys.getValue('openai')
    await sdk.keys.getValue('openai')
    expect(valueReads()).toBe(2)
    spy.next(unavailable(), unavailable(), unavailable())
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(ServerError)
  })
})

describe('valueCache', () => {
  it('serves a value from memory for ttlMs, then asks again', async () => {
    const { app, valueReads } = await setup()
    const sdk = app({ valueCache: { ttlMs: 60_000 } })
    const first = await sdk.keys.getValue('openai')
    const second = await sdk.keys.getValue('openai')
    expect(valueReads()).toBe(1)
    expect(second.value).toBe(first.value)
    expect(second.cached).toMatchObject({ stale: false })
    expect(first.cached).toBeUndefined()
    // Versions are cached apart.
    await sdk.keys.getValue('openai', { version: 1 })
    expect(valueReads()).toBe(2)

    advance(60_001)
    expect((await sdk.keys.getValue('openai')).cached).toBeUndefined()
    expect(valueReads()).toBe(3)
  })

  it('drops a key when this client writes it, by name or by id', async () => {
    const { session } = await server.signup()
    const spy = faultyFetch()
    const owner = server.client(session, { fetch: spy.fetch, valueCache: { ttlMs: 60_000 } })
    const created = await owner.keys.create({ name: 'stripe', value: 'sk_live_one' })
    expect((await owner.keys.getValue('stripe')).value).toBe('sk_live_one')
    expect((await owner.keys.getValue('stripe')).cached).toBeDefined()

    await owner.keys.putValue(created.id, 'sk_live_two') // by id, though read by name
    const after = await owner.keys.getValue('stripe')
    expect(after).toMatchObject({ value: 'sk_live_two' })
    expect(after.cached).toBeUndefined()

    await owner.keys.delete('stripe')
    await expect(owner.keys.getValue('stripe')).rejects.toBeInstanceOf(NotFoundError)
  })
})

describe('staleIfError', () => {
  it('hands out the last value during an outage, marked stale, within maxStaleMs', async () => {
    const { spy, app } = await setup()
    const sdk = app({ staleIfError: { maxStaleMs: 60_000 } })
    const fresh = await sdk.keys.getValue('openai')
    expect(fresh.cached).toBeUndefined()

    spy.next(unavailable(), unavailable(), unavailable())
    const stale = await sdk.keys.getValue('openai')
    expect(stale).toMatchObject({ value: 'sk-live-1', cached: { stale: true } })

    spy.next({ kind: 'network' }, { kind: 'network' }, { kind: 'network' })
    expect((await sdk.keys.getValue('openai')).cached?.stale).toBe(true)

    advance(60_001)
    spy.next(unavailable(), unavailable(), unavailable())
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(ServerError)
  })

  it('never covers 401, 403, 404 or a disabled KEK, and forgets the key after one', async () => {
    const { spy, app } = await setup()
    const sdk = app({ staleIfError: { maxStaleMs: 60_000 }, maxRetries: 0 })
    await sdk.keys.getValue('openai')

    spy.next({
      kind: 'respond',
      status: 503,
      body: { status: 503, code: 'kek_disabled', detail: 'disabled', requestId: 'r' },
    })
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(KeyUnavailableError)
    // Forgotten: the next outage has nothing stale to give.
    spy.next({ kind: 'network' })
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(ConnectionError)

    await sdk.keys.getValue('openai')
    spy.next({
      kind: 'respond',
      status: 404,
      body: { status: 404, code: 'not_found', detail: 'gone', requestId: 'r' },
    })
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(NotFoundError)
    spy.next(unavailable())
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(ServerError)

    await sdk.keys.getValue('openai')
    spy.next({
      kind: 'respond',
      status: 401,
      body: { status: 401, code: 'token_revoked', detail: 'revoked', requestId: 'r' },
    })
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(AuthenticationError)
    spy.next(unavailable())
    await expect(sdk.keys.getValue('openai')).rejects.toBeInstanceOf(ServerError)
  })
})
