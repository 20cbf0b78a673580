import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardAgent } from '../support/dashboard-forms.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

// Reads per key and token per day: counted in memory on both read paths, written once per
// flush as one ADD per counter, summed across instances, and shown on the usage page.

let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function usageItems(tenantId: string) {
  const res = await stack.table.doc.send(
    new QueryCommand({
      TableName: stack.table.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :usage)',
      ExpressionAttributeValues: { ':pk': `ORG#${tenantId}`, ':usage': 'USAGE#' },
    }),
  )
  return (res.Items ?? []).map((item) => ({ sk: item.sk as string, reads: Number(item.reads) }))
}

describe('usage counters', () => {
  it('count every read in memory and write one ADD per counter per flush', async () => {
    const user = await signup(api)
    const created = await api.post(
      '/v1/keys',
      { name: 'counted', value: 'sk-counted-123456' },
      user.session,
    )
    const keyId = created.body.id as string
    const token = await tokenMinter(api, user.session)({ scopes: ['keys:read'] })
    const tokenId = (await api.get('/v1/me', token)).body.tokenId as string

    // The first read is cold; the rest are answered from memory.
    for (let i = 0; i < 7; i++) {
      expect((await api.get('/v1/keys/counted/value', token)).status).toBe(200)
    }
    expect(await usageItems(user.tenantId)).toEqual([])

    await stack.deps.usage.flush()
    const day = new Date().toISOString().slice(0, 10)
    expect(await usageItems(user.tenantId)).toEqual([
      { sk: `USAGE#${day}#key#${keyId}`, reads: 7 },
      { sk: `USAGE#${day}#token#${tokenId}`, reads: 7 },
    ])

    // Another instance's counts add to the same items.
    const other = stack.anotherInstance()
    const otherApi = client(other.app)
    for (let i = 0; i < 3; i++) await otherApi.get('/v1/keys/counted/value', token)
    await api.get('/v1/keys/counted/value', token)
    await Promise.all([other.deps.usage.flush(), stack.deps.usage.flush()])
    expect((await usageItems(user.tenantId)).map((i) => i.reads)).toEqual([11, 11])

    // Nothing moved: a flush writes nothing.
    await stack.deps.usage.flush()
    expect((await usageItems(user.tenantId)).map((i) => i.reads)).toEqual([11, 11])

    // A person's reveal counts for the key, not as a token.
    const agent = dashboardAgent(stack.app)
    await agent.post('/login', { email: user.email, password: user.password })
    await agent.get('/keys')
    await agent.post(`/keys/${keyId}/reveal`, {}, { json: true })
    await stack.deps.usage.flush()
    expect((await usageItems(user.tenantId)).map((i) => i.reads)).toEqual([12, 11])

    const page = await agent.get('/usage')
    expect(page.res.status).toBe(200)
    const keyRow =
      /<th scope="row">counted<\/th><td>(\d+)<\/td><td>(\d+)<\/td><td>(\d+)<\/td>/.exec(page.text)
    expect(keyRow?.slice(1)).toEqual(['12', '12', '12'])
    expect(page.text).toContain('data-usage=')
  })

  it('are not written at all when turned off', async () => {
    const off = stack.anotherInstance({ KEYSTASH_USAGE_COUNTERS: 'off' })
    const offApi = client(off.app)
    const user = await signup(offApi)
    await offApi.post('/v1/keys', { name: 'quiet', value: 'sk-quiet-123456' }, user.session)
    const token = await tokenMinter(offApi, user.session)({ scopes: ['keys:read'] })
    for (let i = 0; i < 3; i++) await offApi.get('/v1/keys/quiet/value', token)
    await off.deps.usage.flush()
    expect(await usageItems(user.tenantId)).toEqual([])
  })

  it('keep another tenant’s counts out of the usage page', async () => {
    const a = await signup(api)
    await api.post('/v1/keys', { name: 'private-key', value: 'sk-private-123456' }, a.session)
    const token = await tokenMinter(api, a.session)({ scopes: ['keys:read'] })
    await api.get('/v1/keys/private-key/value', token)
    await stack.deps.usage.flush()
    const b = await signup(api)
    const agent = dashboardAgent(stack.app)
    await agent.post('/login', { email: b.email, password: b.password })
    const page = await agent.get('/usage')
    expect(page.text).not.toContain('private-key')
    expect(page.text).toContain('No key was read in this period.')
  })
})
