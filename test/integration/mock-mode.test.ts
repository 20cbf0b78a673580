import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function tenant() {
  const account = await signup(api)
  const token = async (environment: string, extra: object = {}) =>
    (
      await api.post(
        '/v1/tokens',
        { name: environment, scopes: ['keys:read'], expiresIn: 3600, environment, ...extra },
        account.session,
      )
    ).body.token as string
  return {
    ...account,
    dev: await token('development'),
    staging: await token('staging'),
    prod: await token('production'),
    token,
  }
}

describe('mock mode', () => {
  it('gives development a mock, production the real value, and says why', async () => {
    const t = await tenant()
    await api.post(
      '/v1/keys',
      { name: 'openai', value: 'sk-proj-REAL-VALUE-000', provider: 'openai' },
      t.session,
    )
    const dev = await api.get('/v1/keys/openai/value', t.dev)
    expect(dev.status).toBe(200)
    expect(dev.headers.get('keystash-mode')).toBe('mock')
    expect(dev.body.mode).toEqual({
      environment: 'development',
      effective: 'mock',
      source: 'environment_default',
    })
    expect(dev.body.value).not.toContain('REAL-VALUE')
    expect(dev.body.value).toMatch(/^sk-proj-mock/)
    const staging = await api.get('/v1/keys/openai/value', t.staging)
    expect(staging.body.mode).toEqual({
      environment: 'staging',
      effective: 'mock',
      source: 'environment_default',
    })
    const prod = await api.get('/v1/keys/openai/value', t.prod)
    expect(prod.headers.get('keystash-mode')).toBe('live')
    expect(prod.body.value).toBe('sk-proj-REAL-VALUE-000')
    expect(prod.body.mode).toMatchObject({ environment: 'production', effective: 'live' })
  })

  it('flips one key with a per-key override, and a tenant default changes the rest', async () => {
    const t = await tenant()
    await api.post('/v1/keys', { name: 'a', value: 'real-a-value' }, t.session)
    await api.post('/v1/keys', { name: 'b', value: 'real-b-value' }, t.session)
    const patched = await api.patch(
      '/v1/keys/a',
      { mockOverrides: { development: 'live' } },
      t.session,
    )
    expect(patched.body.mockOverrides).toEqual({ development: 'live' })
    const a = await api.get('/v1/keys/a/value', t.dev)
    expect(a.body).toMatchObject({
      value: 'real-a-value',
      mode: { effective: 'live', source: 'key_override' },
    })
    expect((await api.get('/v1/keys/b/value', t.dev)).body.mode.effective).toBe('mock')

    const org = await api.patch('/v1/org', { mockDefaults: { staging: 'live' } }, t.session)
    expect(org.status).toBe(200)
    expect(org.body.mockDefaults).toEqual({
      development: 'mock',
      staging: 'live',
      production: 'live',
    })
    expect((await api.get('/v1/keys/b/value', t.staging)).body).toMatchObject({
      value: 'real-b-value',
      mode: { effective: 'live', source: 'environment_default' },
    })
    // Clearing the override returns the key to the tenant default.
    await api.patch('/v1/keys/a', { mockOverrides: { development: null } }, t.session)
    expect((await api.get('/v1/keys/a/value', t.dev)).body.mode).toMatchObject({
      effective: 'mock',
      source: 'environment_default',
    })
  })

  it('lets a guardrail beat both, and refuses settings it forbids, naming it', async () => {
    const guarded = client(stack.another({ KEYSTASH_MOCK_DEVELOPMENT: 'force-mock' }))
    const t = await tenant()
    await api.post('/v1/keys', { name: 'k', value: 'real-k-value' }, t.session)
    await api.patch('/v1/keys/k', { mockOverrides: { development: 'live' } }, t.session)
    const read = await guarded.get('/v1/keys/k/value', t.dev)
    expect(read.body.mode).toEqual({
      environment: 'development',
      effective: 'mock',
      source: 'guardrail',
    })

    const refusedKey = await guarded.patch(
      '/v1/keys/k',
      { mockOverrides: { development: 'live' } },
      t.session,
    )
    expect([refusedKey.status, refusedKey.body.code]).toEqual([409, 'mock_guardrail'])
    expect(refusedKey.body.detail).toContain('KEYSTASH_MOCK_DEVELOPMENT=force-mock')
    // Production never mocks by default: neither a key override nor a tenant default may ask for it.
    const prodKey = await api.patch(
      '/v1/keys/k',
      { mockOverrides: { production: 'mock' } },
      t.session,
    )
    expect([prodKey.status, prodKey.body.code, prodKey.body.variable]).toEqual([
      409,
      'mock_guardrail',
      'KEYSTASH_MOCK_PRODUCTION',
    ])
    const prodOrg = await api.patch('/v1/org', { mockDefaults: { production: 'mock' } }, t.session)
    expect([prodOrg.status, prodOrg.body.code]).toEqual([409, 'mock_guardrail'])
    expect((await api.get('/v1/org', t.session)).body.mockDefaults.production).toBe('live')
  })

  it('makes fakes stable across calls, different across keys, versions and tenants', async () => {
    const t = await tenant()
    const u = await tenant()
    for (const who of [t, u]) {
      await api.post(
        '/v1/keys',
        { name: 'stripe', value: 'sk_live_REAL', provider: 'stripe-secret' },
        who.session,
      )
      await api.post(
        '/v1/keys',
        { name: 'other', value: 'sk_live_REAL', provider: 'stripe-secret' },
        who.session,
      )
    }
    const read = async (token: string, path: string) =>
      (await api.get(path, token)).body.value as string
    const first = await read(t.dev, '/v1/keys/stripe/value')
    expect(first).toMatch(/^sk_test_/)
    expect(await read(t.dev, '/v1/keys/stripe/value')).toBe(first)
    expect(await read(t.staging, '/v1/keys/stripe/value')).toBe(first)
    expect(
      await client(stack.another())
        .get('/v1/keys/stripe/value', t.dev)
        .then((r) => r.body.value),
    ).toBe(first)
    expect(await read(t.dev, '/v1/keys/other/value')).not.toBe(first)
    expect(await read(u.dev, '/v1/keys/stripe/value')).not.toBe(first)
    await api.put('/v1/keys/stripe/value', { value: 'sk_live_REAL2' }, t.session)
    const v2 = await read(t.dev, '/v1/keys/stripe/value')
    expect(v2).not.toBe(first)
    expect(await read(t.dev, '/v1/keys/stripe/value?version=1')).toBe(first)
  })

  it('keeps authentication, scopes, restrictions and 404s real', async () => {
    const t = await tenant()
    await api.post('/v1/keys', { name: 'allowed', value: 'v' }, t.session)
    await api.post('/v1/keys', { name: 'hidden', value: 'v' }, t.session)
    const restricted = await t.token('development', { keys: ['allowed'] })
    expect((await api.get('/v1/keys/allowed/value', restricted)).body.mode.effective).toBe('mock')
    expect((await api.get('/v1/keys/hidden/value', restricted)).status).toBe(404)
    expect((await api.get('/v1/keys/missing/value', t.dev)).status).toBe(404)
    expect((await api.get('/v1/keys/allowed/value')).status).toBe(401)
    const listOnly = (
      await api.post(
        '/v1/tokens',
        { name: 'l', scopes: ['keys:list'], expiresIn: 60, environment: 'development' },
        t.session,
      )
    ).body.token
    expect((await api.get('/v1/keys/allowed/value', listOnly)).status).toBe(403)
    await stack.deps.lastUsed.settled()
    expect((await api.get('/v1/keys/allowed', t.session)).body.lastUsedAt).not.toBeNull()
  })

  it('serves mock reads while KMS refuses every call; live reads fail with the KMS code', async () => {
    const t = await tenant()
    await api.post('/v1/keys', { name: 'k', value: 'live-value', provider: 'anthropic' }, t.session)
    // A fresh instance: no data key cached, nothing warmed up.
    const cold = client(stack.another({ KEYSTASH_RECORD_CACHE_MS: '0' }))
    await stack.kms.faults.refuseConnections()
    stack.kms.calls.reset()
    try {
      const mock = await cold.get('/v1/keys/k/value', t.dev)
      expect([mock.status, mock.body.mode.effective]).toEqual([200, 'mock'])
      expect(mock.body.value).toMatch(/^sk-ant-api03-mock/)
      const live = await cold.get('/v1/keys/k/value', t.prod)
      expect([live.status, live.body.code]).toEqual([503, 'kms_unavailable'])
    } finally {
      await stack.kms.faults.acceptConnections()
    }
    expect(stack.kms.calls.length).toBe(0)
  })
})
