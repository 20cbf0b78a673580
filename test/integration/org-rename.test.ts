import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

describe('PATCH /v1/org', () => {
  it('renames the organization and keeps the name on the next read', async () => {
    const { session } = await signup(api)
    const renamed = await api.patch('/v1/org', { name: '  Difference Engines  ' }, session)
    expect(renamed.status).toBe(200)
    expect(renamed.body.name).toBe('Difference Engines')
    expect((await api.get('/v1/org', session)).body.name).toBe('Difference Engines')
  })

  it('renames and changes mock defaults in one request', async () => {
    const { session } = await signup(api)
    const res = await api.patch(
      '/v1/org',
      { name: 'Both at once', mockDefaults: { staging: 'live' } },
      session,
    )
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ name: 'Both at once', mockDefaults: { staging: 'live' } })
  })
})
