import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

/**
 * Environments as a boundary, scopes that each name one power, key restrictions that restrict
 * tenant-wide powers too, and a restricted token's narrowed view of the audit trail.
 */

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function ownerWithKey() {
  const account = await signup(api)
  const mint = tokenMinter(api, account.session)
  await api.post('/v1/keys', { name: 'openai', value: 'sk-proj-live-value' }, account.session)
  return { ...account, mint }
}

describe('a non-production token never changes what a wider environment receives', () => {
  it('cannot turn its own reads live, add a version, patch, create or delete a key by any route', async () => {
    const { session, mint } = await ownerWithKey()
    const dev = await mint({
      environment: 'development',
      scopes: ['keys:read', 'keys:list', 'keys:write', 'mock:write'],
    })
    const before = await api.get('/v1/keys/openai/value', dev)
    expect(before.body.mode.effective).toBe('mock')

    const attempts = [
      api.patch('/v1/keys/openai', { mockOverrides: { development: 'live' } }, dev),
      api.patch('/v1/org', { mockDefaults: { development: 'live' } }, dev),
      api.put('/v1/keys/openai/value', { value: 'sk-proj-planted' }, dev),
      api.patch('/v1/keys/openai', { description: 'changed' }, dev),
      api.post('/v1/keys', { name: 'new-key', value: 'v' }, dev),
      api.delete('/v1/keys/openai', dev),
    ]
    for (const res of await Promise.all(attempts)) {
      expect([res.status, res.body.code]).toEqual([403, 'environment_boundary'])
    }

    // Nothing changed: the development read is still mock, production reads the real value.
    const after = await api.get('/v1/keys/openai/value', dev)
    expect(after.body.mode.effective).toBe('mock')
    const key = await api.get('/v1/keys/openai', session)
    expect(key.body).toMatchObject({ currentVersion: 1, description: null, mockOverrides: {} })
    expect((await api.get('/v1/org', session)).body.mockDefaults.development).toBe('mock')
    expect((await api.get('/v1/keys/openai/value', session)).body.value).toBe('sk-proj-live-value')
    expect((await api.get('/v1/keys/new-key', session)).status).toBe(404)
  })

  it('staging is held to the same boundary', async () => {
    const { mint } = await ownerWithKey()
    const staging = await mint({ environment: 'staging', scopes: ['keys:write'] })
    const res = await api.put('/v1/keys/openai/value', { value: 'sk-proj-planted' }, staging)
    expect([res.status, res.body.code]).toEqual([403, 'environment_boundary'])
  })

  it('a production token with mock:write may change mock settings; keys:write alone may not', async () => {
    const { mint } = await ownerWithKey()
    const writer = await mint({ scopes: ['keys:write'] })
    const refused = await api.patch(
      '/v1/keys/openai',
      { mockOverrides: { development: 'live' } },
      writer,
    )
    expect([refused.status, refused.body.code]).toEqual([403, 'insufficient_scope'])
    const mocker = await mint({ scopes: ['keys:write', 'mock:write'] })
    const changed = await api.patch(
      '/v1/keys/openai',
      { mockOverrides: { development: 'live' } },
      mocker,
    )
    expect(changed.status).toBe(200)
    expect(changed.body.mockOverrides).toEqual({ development: 'live' })
    const org = await api.patch('/v1/org', { mockDefaults: { staging: 'live' } }, mocker)
    expect(org.status).toBe(200)
  })
})

describe('scopes that each name one power', () => {
  it('the scope for mock settings does not switch the encryption key or rename the organization', async () => {
    const { mint } = await ownerWithKey()
    const mocker = await mint({ scopes: ['mock:write'] })
    const encryption = await api.put('/v1/org/encryption', { provider: 'platform' }, mocker)
    expect([encryption.status, encryption.body.code]).toEqual([403, 'insufficient_scope'])
    expect(encryption.body.requiredScope).toBe('encryption:write')
    const rename = await api.patch('/v1/org', { name: 'taken over' }, mocker)
    expect([rename.status, rename.body.requiredScope]).toEqual([403, 'org:write'])
    const renamer = await mint({ scopes: ['org:write'] })
    expect((await api.patch('/v1/org', { name: 'renamed' }, renamer)).status).toBe(200)
    const defaults = await api.patch('/v1/org', { mockDefaults: { staging: 'live' } }, renamer)
    expect([defaults.status, defaults.body.requiredScope]).toEqual([403, 'mock:write'])
  })

  it('accepts the earlier org:admin when minting, as the scopes it was split into', async () => {
    const { session } = await ownerWithKey()
    const res = await api.post(
      '/v1/tokens',
      { name: 'legacy', scopes: ['org:admin'], expiresIn: 600 },
      session,
    )
    expect(res.status).toBe(201)
    expect([...res.body.scopes].sort()).toEqual([
      'encryption:write',
      'mock:write',
      'org:read',
      'org:write',
    ])
  })

  it('refuses a tenant-wide scope on a key-restricted token, storing nothing', async () => {
    const { session } = await ownerWithKey()
    for (const scope of ['org:read', 'org:write', 'mock:write', 'encryption:write', 'org:admin']) {
      const res = await api.post(
        '/v1/tokens',
        { name: 'mixed', scopes: ['keys:read', scope], keys: ['openai'], expiresIn: 600 },
        session,
      )
      expect([res.status, res.body.code]).toEqual([422, 'validation_failed'])
    }
    expect((await api.get('/v1/tokens', session)).body.items).toEqual([])
  })
})

describe('a key-restricted token’s view of the audit trail', () => {
  it('holds only events about its keys and its own actions, and cannot verify the chains', async () => {
    const { session, mint } = await ownerWithKey()
    await api.post('/v1/keys', { name: 'stripe-live', value: 'sk_live_value' }, session)
    await api.get('/v1/keys/stripe-live/value', session)
    const auditor = await mint({ scopes: ['audit:read', 'keys:read'], keys: ['openai*'] })
    await api.get('/v1/keys/openai/value', auditor)
    // Refused outside its restriction: its own action, so it sees it.
    await api.get('/v1/keys/stripe-live/value', auditor)
    await stack.deps.audit.flush()

    const all = (await api.get('/v1/audit?limit=100', session)).body.items
    const aboutStripe = (e: any) =>
      e.target?.id === 'stripe-live' || e.target?.name === 'stripe-live'
    expect(all.filter(aboutStripe).length).toBeGreaterThan(1)
    const seen = (await api.get('/v1/audit?limit=100', auditor)).body.items
    const auditorId = (await api.get('/v1/me', auditor)).body.tokenId
    // Everything it sees is about its keys or done by itself (its refused read of stripe-live).
    const allowed = (e: any) =>
      (e.target?.type === 'key' && e.target?.name === 'openai') || e.actor?.id === auditorId
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.filter((e: any) => !allowed(e))).toEqual([])
    expect(seen.filter(aboutStripe).map((e: any) => e.actor.id)).toEqual([auditorId])
    // The owner's own read of openai is about its key, so it is there.
    expect(seen.some((e: any) => e.target?.name === 'openai' && e.actor?.type === 'user')).toBe(
      true,
    )
    const exported = await stack.app.request('/v1/audit/export', {
      headers: { authorization: `Bearer ${auditor}` },
    })
    expect(exported.status).toBe(200)
    const lines = (await exported.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.filter((e: any) => !allowed(e))).toEqual([])
    const verify = await api.get('/v1/audit/verify', auditor)
    expect([verify.status, verify.body.code]).toEqual([403, 'insufficient_scope'])
  })
})
