import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

/** Real time plus an offset the test moves, instead of sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset }
const DAY = 86_400_000
const inDays = (days: number) => new Date(clock.now() + days * DAY).toISOString()

let stack: Stack
beforeAll(async () => {
  stack = await startStack({ clock })
})
afterAll(() => stack?.close())

/** A session lasts hours; these tests move the clock by days, so they work with a token. */
async function longLived(api: ReturnType<typeof client>) {
  const { session } = await signup(api)
  const res = await api.post(
    '/v1/tokens',
    {
      name: 'admin',
      scopes: ['keys:read', 'keys:list', 'keys:write', 'tokens:write'],
      expiresIn: 80 * 86400,
    },
    session,
  )
  return res.body.token as string
}

const names = (res: { status: number; body: { items: { name: string }[] } }) => {
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.items.map((k) => k.name).sort()
}

describe('key lifetime', () => {
  it('stores expiresAt and rotateEveryDays, and rotationDueAt follows the current version', async () => {
    const api = client(stack.app)
    const session = await longLived(api)
    const created = await api.post(
      '/v1/keys',
      { name: 'stripe', value: 'sk_test_123', expiresAt: inDays(20), rotateEveryDays: 30 },
      session,
    )
    expect(created.status).toBe(201)
    expect(created.body.rotateEveryDays).toBe(30)
    const due = Date.parse(created.body.rotationDueAt) - Date.parse(created.body.createdAt)
    expect(Math.abs(due - 30 * DAY)).toBeLessThan(1000)
    clock.offset += 5 * DAY
    const next = await api.put('/v1/keys/stripe/value', { value: 'sk_test_456' }, session)
    expect(next.status).toBe(200)
    expect(Date.parse(next.body.rotationDueAt)).toBe(Date.parse(next.body.updatedAt) + 30 * DAY)
    const cleared = await api.patch(
      '/v1/keys/stripe',
      { rotateEveryDays: null, expiresAt: null },
      session,
    )
    expect(cleared.body).toMatchObject({
      rotateEveryDays: null,
      rotationDueAt: null,
      expiresAt: null,
    })
    expect((await api.get('/v1/keys/stripe', session)).body.rotationDueAt).toBeNull()
  })

  it('refuses a policy out of range with a validation problem', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const res = await api.post(
      '/v1/keys',
      { name: 'k', value: 'v', rotateEveryDays: 0, expiresAt: 'tomorrow' },
      session,
    )
    expect(res.status).toBe(422)
    expect(res.body.code).toBe('validation_failed')
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'expiresAt',
      'rotateEveryDays',
    ])
  })

  it('lists keys expiring within N days, overdue, unused for N days, never used', async () => {
    const api = client(stack.app)
    const session = await longLived(api)
    const reader = session
    await api.post('/v1/keys', { name: 'soon', value: 'a', expiresAt: inDays(5) }, session)
    await api.post('/v1/keys', { name: 'later', value: 'b', expiresAt: inDays(60) }, session)
    await api.post('/v1/keys', { name: 'policy', value: 'c', rotateEveryDays: 10 }, session)
    await api.post('/v1/keys', { name: 'plain', value: 'd' }, session)

    expect(names(await api.get('/v1/keys?expiringWithinDays=30', session))).toEqual(['soon'])
    expect(names(await api.get('/v1/keys?expiringWithinDays=90', session))).toEqual([
      'later',
      'soon',
    ])
    expect(names(await api.get('/v1/keys?rotationOverdue=true', session))).toEqual([])
    expect(names(await api.get('/v1/keys?neverUsed=true', session))).toHaveLength(4)

    // 'plain' is used; 40 days later the others have gone unused for 30 days.
    expect((await api.get('/v1/keys/plain/value', reader)).status).toBe(200)
    await stack.deps.lastUsed.settled()
    expect(names(await api.get('/v1/keys?neverUsed=true', session))).toEqual([
      'later',
      'policy',
      'soon',
    ])
    expect(names(await api.get('/v1/keys?unusedForDays=30', session))).toEqual([])
    clock.offset += 40 * DAY
    expect(names(await api.get('/v1/keys?unusedForDays=30', session))).toEqual([
      'later',
      'plain',
      'policy',
      'soon',
    ])
    expect(names(await api.get('/v1/keys?rotationOverdue=true', session))).toEqual(['policy'])
    expect((await api.get('/v1/keys?unusedForDays=-1', session)).status).toBe(422)
  })

  it('lists access tokens expiring within N days and unused ones, never revoked ones', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const mint = async (name: string, days: number) =>
      (
        await api.post(
          '/v1/tokens',
          { name, scopes: ['keys:list'], expiresIn: Math.round(days * 86400) },
          session,
        )
      ).body
    const short = await mint('short', 3)
    await mint('long', 60)
    const revoked = await mint('revoked', 2)
    await api.delete(`/v1/tokens/${revoked.id}`, session)
    const tokenNames = async (query: string) => names(await api.get(`/v1/tokens?${query}`, session))
    expect(await tokenNames('expiringWithinDays=7')).toEqual(['short'])
    expect((await api.get('/v1/me', short.token)).status).toBe(200)
    await stack.deps.lastUsed.settled()
    expect(await tokenNames('neverUsed=true')).toEqual(['long', 'revoked'])
  })
})
