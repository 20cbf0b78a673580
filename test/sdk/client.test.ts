import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NotFoundError, Page } from '../../sdk/src/index.ts'
import { client } from '../support/stack.ts'
import { faultyFetch } from './support/faults.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

let server: SdkServer
beforeAll(async () => {
  server = await startSdkServer()
})
afterAll(() => server?.close())

/** An organization, its owner's client, and a client for an application token. */
async function tenant(environment: 'development' | 'production' = 'production') {
  const { session, tenantId } = await server.signup()
  const owner = server.client(session)
  const { token } = await owner.tokens.create({
    name: 'app',
    scopes: ['keys:read', 'keys:list'],
    expiresIn: 3600,
    environment,
  })
  // Bulk set-up goes straight to the in-process app: only the listing is under test.
  const api = client(server.stack.app)
  return { tenantId, session, owner, api, app: server.client(token) }
}

async function inBatches(count: number, make: (i: number) => Promise<unknown>) {
  for (let start = 0; start < count; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, (_, j) => make(start + j)),
    )
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('the SDK against a real server', () => {
  it('describes the caller', async () => {
    const { tenantId, app } = await tenant()
    const me = await app.me()
    expect(me).toMatchObject({ kind: 'access', tenantId, environment: 'production' })
    expect(me.scopes).toEqual(['keys:read', 'keys:list'])
  })

  it('stores, reads, versions, updates and deletes a key', async () => {
    const { owner, app } = await tenant()
    const created = await owner.keys.create({
      name: 'openai',
      value: 'sk-proj-live-value-1',
      provider: 'openai',
      tags: ['team:ml'],
    })
    expect(created).toMatchObject({ name: 'openai', provider: 'openai', currentVersion: 1 })
    expect(created).not.toHaveProperty('value')

    const read = await app.keys.getValue('openai')
    expect(read).toMatchObject({ keyId: created.id, version: 1, value: 'sk-proj-live-value-1' })
    // The server's default guardrail for production (forbid-mock) decides.
    expect(read.mode).toEqual({ environment: 'production', effective: 'live', source: 'guardrail' })
    expect(read.cached).toBeUndefined()

    const v2 = await owner.keys.putValue(created.id, 'sk-proj-live-value-2')
    expect(v2.currentVersion).toBe(2)
    expect((await app.keys.getValue('openai')).value).toBe('sk-proj-live-value-2')
    expect((await app.keys.getValue('openai', { version: 1 })).value).toBe('sk-proj-live-value-1')
    expect((await owner.keys.versions('openai')).items.map((v) => v.version)).toEqual([1, 2])

    const updated = await owner.keys.update('openai', {
      description: 'shared',
      mockOverrides: { staging: 'live' },
    })
    expect(updated).toMatchObject({ description: 'shared', mockOverrides: { staging: 'live' } })

    expect(await owner.keys.get(created.id)).toMatchObject({ name: 'openai', currentVersion: 2 })
    await owner.keys.delete('openai')
    await expect(owner.keys.get('openai')).rejects.toMatchObject({ status: 404 })
  })

  it('reports mock mode as the server resolved it', async () => {
    const { owner, app } = await tenant('development')
    await owner.keys.create({
      name: 'stripe',
      value: 'sk_live_realvalue123',
      provider: 'stripe-secret',
    })
    const mocked = await app.keys.getValue('stripe')
    expect(mocked.mode).toEqual({
      environment: 'development',
      effective: 'mock',
      source: 'environment_default',
    })
    expect(mocked.value).toMatch(/^sk_test_mock/)
    await owner.keys.update('stripe', { mockOverrides: { development: 'live' } })
    const live = await app.keys.getValue('stripe')
    expect(live).toMatchObject({ value: 'sk_live_realvalue123', mode: { source: 'key_override' } })
  })

  it('reads and changes the organization and its encryption settings', async () => {
    const { tenantId, owner } = await tenant()
    expect(await owner.org.get()).toMatchObject({ id: tenantId })
    const updated = await owner.org.update({ mockDefaults: { staging: 'live' } })
    expect(updated.mockDefaults).toEqual({
      development: 'mock',
      staging: 'live',
      production: 'live',
    })
    expect(await owner.encryption.get()).toMatchObject({ provider: 'platform', job: null })
    await expect(owner.encryption.job(`job_${'0'.repeat(26)}`)).rejects.toBeInstanceOf(
      NotFoundError,
    )
  })

  it('builds paths with per-segment encoding', async () => {
    const spy = faultyFetch()
    const sdk = server.client('x.y.z', { fetch: spy.fetch, maxRetries: 0 })
    await sdk.keys.get('a/b?c#d').catch(() => {})
    await sdk.tokens.get('..%2F').catch(() => {})
    expect(spy.seen.map((r) => new URL(r.url).pathname)).toEqual([
      '/v1/keys/a%2Fb%3Fc%23d',
      '/v1/tokens/..%252F',
    ])
    await expect(sdk.keys.get('..')).rejects.toThrow(TypeError)
    expect(spy.seen).toHaveLength(2)
  })

  it('walks 250 tokens across pages, as items, pages, or one page at a time', async () => {
    const { owner, api, session } = await tenant()
    const made = new Set<string>()
    await inBatches(250, async (i) => {
      const body = { name: `t${i}`, scopes: ['keys:read'], expiresIn: 600 }
      made.add((await api.post('/v1/tokens', body, session)).body.id)
    })
    const items = await collect(owner.tokens.list({ limit: 40 }))
    const ids = items.map((t) => t.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of made) expect(ids).toContain(id)

    const pages = await collect(owner.tokens.list({ limit: 100 }).pages())
    expect(pages.length).toBeGreaterThanOrEqual(3)
    expect(pages.at(-1)?.hasNextPage()).toBe(false)
    expect(pages.flatMap((p) => p.items).length).toBe(items.length)

    const first = await owner.tokens.list({ limit: 100 }).page()
    expect(first).toBeInstanceOf(Page)
    expect(first.items).toHaveLength(100)
    const second = await first.nextPage()
    expect(second?.items[0]?.id).toBe(pages[1]?.items[0]?.id)
    // A saved cursor resumes where it left off.
    const resumed = await owner.tokens.list({ limit: 100, cursor: first.nextCursor ?? '' }).page()
    expect(resumed.items.map((t) => t.id)).toEqual(second?.items.map((t) => t.id))
  }, 60_000)

  it('walks 250 keys across pages, with the list filters', async () => {
    const { owner, api, session } = await tenant()
    await inBatches(250, async (i) => {
      const name = `key-${String(i).padStart(3, '0')}`
      const body = { name, value: `value-${i}`, tags: i % 2 === 0 ? ['even'] : [] }
      expect((await api.post('/v1/keys', body, session)).status).toBe(201)
    })
    const names = (await collect(owner.keys.list({ limit: 30 }))).map((k) => k.name)
    expect(names).toHaveLength(250)
    expect(names).toEqual([...names].sort())
    expect(names[0]).toBe('key-000')
    const even = await owner.keys.list({ tag: 'even', limit: 50 }).toArray()
    expect(even).toHaveLength(125)
  }, 60_000)
})
