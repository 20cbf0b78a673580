import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

describe('the audit trail of a day’s work', () => {
  it('records each action with its actor, target and outcome, in order', async () => {
    const owner = await signup(api)
    expect(
      (await api.post('/v1/auth/login', { email: owner.email, password: 'wrong password!!' }))
        .status,
    ).toBe(401)
    expect(
      (await api.post('/v1/auth/login', { email: owner.email, password: owner.password })).status,
    ).toBe(200)
    const key = (
      await api.post('/v1/keys', { name: 'openai', value: 'sk-proj-real' }, owner.session)
    ).body
    const app = (
      await api.post(
        '/v1/tokens',
        { name: 'billing', scopes: ['keys:read'], expiresIn: 600 },
        owner.session,
      )
    ).body
    const dev = (
      await api.post(
        '/v1/tokens',
        { name: 'laptop', scopes: ['keys:read'], expiresIn: 600, environment: 'development' },
        owner.session,
      )
    ).body
    expect((await api.get('/v1/keys/openai/value', app.token)).status).toBe(200)
    expect((await api.get('/v1/keys/openai/value', dev.token)).status).toBe(200)
    expect(
      (await api.put('/v1/keys/openai/value', { value: 'sk-proj-real-2' }, owner.session)).status,
    ).toBe(200)
    expect((await api.patch('/v1/keys/openai', { tags: ['llm'] }, owner.session)).status).toBe(200)
    expect((await api.get('/v1/keys/missing/value', app.token)).status).toBe(404)
    expect((await api.delete(`/v1/tokens/${app.id}`, owner.session)).status).toBe(204)
    expect((await api.get('/v1/keys/openai/value', app.token)).status).toBe(401)
    expect(
      (await api.patch('/v1/org', { mockDefaults: { staging: 'live' } }, owner.session)).status,
    ).toBe(200)
    expect((await api.delete('/v1/keys/openai', owner.session)).status).toBe(204)
    await stack.deps.audit.flush()

    const events = (await api.get('/v1/audit?limit=100', owner.session)).body.items.reverse()
    const summary = events.map((e: any) => [
      e.action,
      e.actor.type,
      e.actor.id,
      e.target?.id ?? null,
      e.outcome.result,
      e.outcome.code ?? null,
    ])
    expect(summary).toEqual([
      ['auth.signup', 'user', owner.userId, owner.tenantId, 'success', null],
      ['auth.login', 'user', owner.userId, null, 'denied', 'invalid_credentials'],
      ['auth.login', 'user', owner.userId, owner.userId, 'success', null],
      ['key.create', 'user', owner.userId, key.id, 'success', null],
      ['token.create', 'user', owner.userId, app.id, 'success', null],
      ['token.create', 'user', owner.userId, dev.id, 'success', null],
      ['key.value.read', 'token', app.id, key.id, 'success', null],
      ['key.value.read', 'token', dev.id, key.id, 'success', null],
      ['key.version.create', 'user', owner.userId, key.id, 'success', null],
      ['key.update', 'user', owner.userId, key.id, 'success', null],
      ['key.value.read', 'token', app.id, 'missing', 'denied', 'not_found'],
      ['token.revoke', 'user', owner.userId, app.id, 'success', null],
      ['token.rejected', 'token', app.id, null, 'denied', 'token_revoked'],
      ['org.update', 'user', owner.userId, owner.tenantId, 'success', null],
      ['key.delete', 'user', owner.userId, key.id, 'success', null],
    ])
    const reads = events.filter(
      (e: any) => e.action === 'key.value.read' && e.outcome.result === 'success',
    )
    expect(
      reads.map((e: any) => [e.details.version, e.details.environment, e.details.mode]),
    ).toEqual([
      [1, 'production', 'live'],
      [1, 'development', 'mock'],
    ])
    for (const event of events) expect(event.requestId).toMatch(/^req_/)

    const verify = await api.get('/v1/audit/verify', owner.session)
    expect(verify.status).toBe(200)
    expect(verify.body.ok).toBe(true)
  })
})
