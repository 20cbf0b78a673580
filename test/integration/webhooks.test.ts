import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(() => stack?.close())

const RECEIVER = 'https://hooks.example.com/keystash'

async function partition(tenantId: string) {
  const { Items } = await stack.table.doc.send(
    new QueryCommand({
      TableName: stack.table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `ORG#${tenantId}` },
    }),
  )
  return Items ?? []
}

describe('webhook endpoints', () => {
  it('are created by a session, show their whsec_ secret once and store it sealed', async () => {
    const api = client(stack.app)
    const { session, tenantId } = await signup(api)
    const created = await api.post(
      '/v1/webhooks',
      { url: RECEIVER, description: 'ops', eventTypes: ['key.expiring', 'token.revoked'] },
      session,
    )
    expect(created.status).toBe(201)
    expect(created.headers.get('cache-control')).toBe('no-store')
    expect(created.body).toMatchObject({
      url: RECEIVER,
      description: 'ops',
      eventTypes: ['key.expiring', 'token.revoked'],
      enabled: true,
      disabledReason: null,
    })
    const secret = created.body.secret as string
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)

    const read = await api.get(`/v1/webhooks/${created.body.id}`, session)
    expect(read.status).toBe(200)
    expect(read.body.secret).toBeUndefined()
    expect(JSON.stringify((await api.get('/v1/webhooks', session)).body)).not.toContain(secret)

    // At rest: sealed, with nothing of the secret in clear.
    const items = await partition(tenantId)
    const stored = items.find((i) => i.sk === `WEBHOOK#${created.body.id}`)
    expect(stored?.secrets[0].sealed.alg).toBe('AES-256-GCM')
    const raw = JSON.stringify(items, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
    )
    expect(raw).not.toContain(secret)
    expect(raw).not.toContain(secret.slice('whsec_'.length))
    const opened = await stack.deps.webhookSecrets.open(
      { tenantId, webhookId: created.body.id, version: 1 },
      stored?.secrets[0].sealed,
    )
    expect(opened).toBe(secret)
  })

  it('are never managed by access tokens, even with org:admin', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const admin = await tokenMinter(api, session)({ scopes: ['org:admin'] })
    const refused = await api.post('/v1/webhooks', { url: RECEIVER }, admin)
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('insufficient_scope')
    expect((await api.get('/v1/webhooks', admin)).status).toBe(403)
  })

  it('validate their input with stable problem codes', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    for (const body of [
      { url: 'not a url' },
      { url: 'ftp://example.com/x' },
      { url: 'https://user:pass@example.com/x' },
      { url: RECEIVER, eventTypes: ['key.nope'] },
      { url: RECEIVER, extra: 1 },
    ]) {
      const res = await api.post('/v1/webhooks', body, session)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(res.body.code).toBe('validation_failed')
      expect(res.headers.get('content-type')).toContain('application/problem+json')
    }
  })

  it('answer another tenant’s ids like missing ones', async () => {
    const api = client(stack.app)
    const owner = await signup(api)
    const other = await signup(api)
    const { id } = (await api.post('/v1/webhooks', { url: RECEIVER }, owner.session)).body
    for (const res of [
      await api.get(`/v1/webhooks/${id}`, other.session),
      await api.patch(`/v1/webhooks/${id}`, { enabled: false }, other.session),
      await api.delete(`/v1/webhooks/${id}`, other.session),
      await api.post(`/v1/webhooks/${id}/rotate-secret`, {}, other.session),
      await api.post(`/v1/webhooks/${id}/test`, {}, other.session),
      await api.get(`/v1/webhooks/${id}/deliveries`, other.session),
      await api.get('/v1/webhooks/whk_nope', other.session),
    ]) {
      expect(res.status).toBe(404)
      expect(res.body.code).toBe('not_found')
    }
    expect((await api.get(`/v1/webhooks/${id}`, owner.session)).status).toBe(200)
  })

  it('are updated, rotated with an overlap, and deleted', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const created = (await api.post('/v1/webhooks', { url: RECEIVER }, session)).body
    const updated = await api.patch(
      `/v1/webhooks/${created.id}`,
      { enabled: false, description: 'paused', eventTypes: ['key.deleted'] },
      session,
    )
    expect(updated.body).toMatchObject({
      enabled: false,
      description: 'paused',
      eventTypes: ['key.deleted'],
    })

    const rotated = await api.post(
      `/v1/webhooks/${created.id}/rotate-secret`,
      { overlapSeconds: 3600 },
      session,
    )
    expect(rotated.status).toBe(200)
    expect(rotated.headers.get('cache-control')).toBe('no-store')
    expect(rotated.body.secret).toMatch(/^whsec_/)
    expect(rotated.body.secret).not.toBe(created.secret)
    const overlapEnds = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()
    expect(overlapEnds).toBeGreaterThan(3500_000)
    expect(overlapEnds).toBeLessThanOrEqual(3600_000)

    expect((await api.delete(`/v1/webhooks/${created.id}`, session)).status).toBe(204)
    expect((await api.get(`/v1/webhooks/${created.id}`, session)).status).toBe(404)
  })
})
