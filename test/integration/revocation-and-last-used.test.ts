import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

/** Real time plus an offset the test moves, instead of sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset }

let stack: Stack
beforeAll(async () => {
  stack = await startStack({ clock })
})
afterAll(() => stack?.close())

describe('revocation across instances', () => {
  it('takes effect at once where it was revoked, and within the staleness bound elsewhere', async () => {
    const one = client(stack.app)
    const two = client(stack.another())
    const { session } = await signup(one)
    const created = await one.post(
      '/v1/tokens',
      { name: 'app', scopes: ['keys:read'], expiresIn: 600 },
      session,
    )
    const { token, id } = created.body
    // Both instances have seen the token as valid, so both may hold its status in memory.
    expect((await one.get('/v1/me', token)).status).toBe(200)
    expect((await two.get('/v1/me', token)).status).toBe(200)

    expect((await one.delete(`/v1/tokens/${id}`, session)).status).toBe(204)
    // The revoking instance dropped its cached status: refused on the very next request.
    expect((await one.get('/v1/me', token)).status).toBe(401)
    // Just past the bound (default 1 s), the other instance has re-read the record.
    clock.offset += 1001
    const after = await two.get('/v1/me', token)
    expect(after.status).toBe(401)
    expect(after.body.code).toBe('token_revoked')
  })

  it('with a staleness bound of 0, every instance sees a revocation on its next request', async () => {
    const one = client(stack.another({ KEYSTASH_RECORD_CACHE_MS: '0' }))
    const two = client(stack.another({ KEYSTASH_RECORD_CACHE_MS: '0' }))
    const { session } = await signup(one)
    const { token, id } = (
      await one.post('/v1/tokens', { name: 'app', scopes: ['keys:read'], expiresIn: 600 }, session)
    ).body
    expect((await two.get('/v1/me', token)).status).toBe(200)
    await one.delete(`/v1/tokens/${id}`, session)
    expect((await two.get('/v1/me', token)).status).toBe(401)
  })
})

describe('last used', () => {
  const readLastUsed = async (tenantId: string, tokenId: string) => {
    const { Item } = await stack.table.doc.send(
      new GetCommand({
        TableName: stack.table.tableName,
        Key: { pk: `ORG#${tenantId}`, sk: `TOKEN#${tokenId}` },
      }),
    )
    return Item?.lastUsedAt as string | undefined
  }

  it('records use, at most once a minute per instance, and never fails a request', async () => {
    const api = client(stack.app)
    const { session, tenantId } = await signup(api)
    const { token, id } = (
      await api.post('/v1/tokens', { name: 'app', scopes: ['keys:read'], expiresIn: 3600 }, session)
    ).body
    expect((await api.get(`/v1/tokens/${id}`, session)).body.lastUsedAt).toBeNull()

    await api.get('/v1/me', token)
    await stack.deps.lastUsed.settled()
    const first = await readLastUsed(tenantId, id)
    expect(first).toBeDefined()
    expect(Math.abs(Date.parse(first ?? '') - clock.now())).toBeLessThan(5000)

    // Within the minute: no new write.
    clock.offset += 30_000
    await api.get('/v1/me', token)
    await stack.deps.lastUsed.settled()
    expect(await readLastUsed(tenantId, id)).toBe(first)

    // Past the minute: written again, and visible in the token's description.
    clock.offset += 31_000
    await api.get('/v1/me', token)
    await stack.deps.lastUsed.settled()
    const second = await readLastUsed(tenantId, id)
    expect(Date.parse(second ?? '')).toBeGreaterThan(Date.parse(first ?? ''))
    expect((await api.get(`/v1/tokens/${id}`, session)).body.lastUsedAt).toBe(second)
  })

  it("records a key's use under its id and its name, at most once a minute, on warm reads too", async () => {
    const api = client(stack.app)
    const { session, tenantId } = await signup(api)
    const { id: keyId } = (await api.post('/v1/keys', { name: 'openai', value: 'sk-1' }, session))
      .body
    const { token } = (
      await api.post('/v1/tokens', { name: 'app', scopes: ['keys:read'], expiresIn: 3600 }, session)
    ).body
    const item = async (sk: string) =>
      (
        await stack.table.doc.send(
          new GetCommand({ TableName: stack.table.tableName, Key: { pk: `ORG#${tenantId}`, sk } }),
        )
      ).Item?.lastUsedAt as string | undefined
    const both = async () => {
      await stack.deps.lastUsed.settled()
      return [await item(`KEY#${keyId}`), await item('KEYNAME#openai')]
    }
    expect(await both()).toEqual([undefined, undefined])

    // The first read is cold, the next ones are warm (cached record).
    for (let i = 0; i < 3; i++)
      expect((await api.get('/v1/keys/openai/value', token)).status).toBe(200)
    const [first, firstByName] = await both()
    expect(first).toBeDefined()
    expect(firstByName).toBe(first)

    clock.offset += 30_000
    await api.get('/v1/keys/openai/value', token)
    await api.get('/v1/keys/openai/value', token)
    expect(await both()).toEqual([first, first])

    clock.offset += 31_000
    await api.get('/v1/keys/openai/value', token)
    await api.get('/v1/keys/openai/value', token)
    const [second, secondByName] = await both()
    expect(Date.parse(second ?? '')).toBeGreaterThan(Date.parse(first ?? ''))
    expect(secondByName).toBe(second)
    // The description shows it once the cached key record (read before the write) is past the
    // staleness bound, 1 s.
    clock.offset += 1_000
    expect((await api.get('/v1/keys/openai', session)).body.lastUsedAt).toBe(second)
  })

  it('logs a failed write and still answers the request', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const { token } = (
      await api.post('/v1/tokens', { name: 'app', scopes: ['keys:read'], expiresIn: 3600 }, session)
    ).body
    const original = stack.table.doc.send.bind(stack.table.doc)
    // Make only the lastUsedAt update fail, as a throttled or unavailable table would.
    stack.table.doc.send = ((command: any, ...rest: any[]) =>
      command?.input?.UpdateExpression === 'SET lastUsedAt = :at'
        ? Promise.reject(
            Object.assign(new Error('throttled'), {
              name: 'ProvisionedThroughputExceededException',
            }),
          )
        : original(command, ...rest)) as typeof original
    try {
      clock.offset += 61_000
      expect((await api.get('/v1/me', token)).status).toBe(200)
      await stack.deps.lastUsed.settled()
    } finally {
      stack.table.doc.send = original
    }
    expect(stack.logs.text()).toContain('lastUsedAt write failed')
  })
})
