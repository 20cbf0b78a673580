import { generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashEvent } from '../../src/audit/chain.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { eventItems, manualClock, parseNdjson, recordEvents } from './audit-helpers.ts'

let stack: Stack
let api: ReturnType<typeof client>
const clock = manualClock()

beforeAll(async () => {
  stack = await startStack({ clock })
  api = client(stack.app)
})
afterAll(() => stack?.close())

const list = async (session: string, query = '') => {
  const res = await api.get(`/v1/audit${query}`, session)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body as { items: Array<Record<string, any>>; nextCursor: string | null }
}

describe('rejected token uses', () => {
  it('files them under the token’s tenant, with the token id, once the signature verifies', async () => {
    const owner = await signup(api)
    const created = await api.post(
      '/v1/tokens',
      { name: 'lister', scopes: ['keys:list'], expiresIn: 3600, environment: 'production' },
      owner.session,
    )
    expect(created.status).toBe(201)
    const { token, id: tokenId } = created.body

    const forbidden = await api.get('/v1/audit', token)
    expect(forbidden.status).toBe(403)
    expect((await api.delete(`/v1/tokens/${tokenId}`, owner.session)).status).toBe(204)
    const revoked = await api.get('/v1/me', token)
    expect(revoked.status).toBe(401)

    // A token signed by someone else's key, naming the owner's tenant: it proves nothing, so
    // it must not land in that tenant's trail.
    const { privateKey } = await generateKeyPair('EdDSA')
    const forged = await new SignJWT({ tid: owner.tenantId, scope: 'audit:read', kind: 'session' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'forged' })
      .setJti('tok_forged')
      .sign(privateKey)
    expect((await api.get('/v1/me', forged)).status).toBe(401)
    expect((await api.post('/v1/auth/login', { email: owner.email, password: 'x' })).status).toBe(
      401,
    )

    await stack.deps.audit.flush()
    const { items } = await list(owner.session, '?action=token.rejected')
    expect(items.map((e) => [e.actor.id, e.outcome.code, e.details.path])).toEqual([
      [tokenId, 'token_revoked', '/v1/me'],
      [tokenId, 'insufficient_scope', '/v1/audit'],
    ])
    expect(items[0]).toMatchObject({
      tenantId: owner.tenantId,
      actor: { type: 'token', id: tokenId },
      target: null,
      outcome: { result: 'denied', code: 'token_revoked' },
      requestId: revoked.headers.get('x-request-id'),
      details: { method: 'GET', status: 401 },
    })
    expect(items[1]?.actor.name).toBe('lister')
    const stored = JSON.stringify(await eventItems(stack, owner.tenantId))
    expect(stored).not.toContain('tok_forged')
    const noTenant = stack.logs.lines().filter((line) => line.msg === 'audit event (no tenant)')
    expect(noTenant.some((line) => (line.audit as any).outcome.code === 'invalid_token')).toBe(true)
  })
})

describe('GET /v1/audit', () => {
  it('lists newest first, pages with a cursor, and filters by action, actor, target and time', async () => {
    const owner = await signup(api)
    const start = new Date(clock.now()).toISOString()
    await recordEvents(stack, clock, owner.tenantId, 12, (i) =>
      i % 4 === 0 ? { action: 'key.delete', outcome: { result: 'denied', code: 'not_found' } } : {},
    )
    const middle = new Date(clock.now() - 6000).toISOString()

    const seen: number[] = []
    let cursor: string | null = null
    do {
      const query: string = `?limit=5&action=key.*&from=${start}${cursor ? `&cursor=${cursor}` : ''}`
      const page = await list(owner.session, query)
      expect(page.items.length).toBeLessThanOrEqual(5)
      seen.push(...page.items.map((e) => e.details.n))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1])

    const numbers = (page: { items: Array<Record<string, any>> }) =>
      page.items.map((e) => e.details.n)
    expect(numbers(await list(owner.session, '?action=key.delete'))).toEqual([12, 8, 4])
    expect(numbers(await list(owner.session, '?action=key.*&actor=tok_reader1'))).toEqual([
      10, 7, 4, 1,
    ])
    expect(numbers(await list(owner.session, '?targetType=key&targetId=key_0'))).toEqual([
      12, 10, 8, 6, 4, 2,
    ])
    expect(numbers(await list(owner.session, `?action=key.*&from=${middle}`))).toEqual([
      12, 11, 10, 9, 8, 7, 6,
    ])
    expect(numbers(await list(owner.session, `?action=key.*&to=${middle}`))).toEqual([
      6, 5, 4, 3, 2, 1,
    ])
  })

  it('keeps tenants apart, refuses a foreign cursor, and requires audit:read', async () => {
    const a = await signup(api)
    const b = await signup(api)
    await recordEvents(stack, clock, a.tenantId, 3)
    expect((await list(b.session, '?action=key.*')).items).toEqual([])
    const page = await list(a.session, '?action=key.*&limit=1')
    expect(page.nextCursor).not.toBeNull()
    const foreign = await api.get(`/v1/audit?cursor=${page.nextCursor}`, b.session)
    expect([foreign.status, foreign.body.code]).toEqual([400, 'bad_request'])
    const reversed = await api.get(
      '/v1/audit?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z',
      a.session,
    )
    expect(reversed.status).toBe(400)
    expect((await api.get('/v1/audit')).status).toBe(401)
  })
})

describe('GET /v1/audit/export', () => {
  it('streams NDJSON oldest first, each line verifiable by its hash, and records the export', async () => {
    const owner = await signup(api)
    await recordEvents(stack, clock, owner.tenantId, 450)
    const res = await stack.app.request('/v1/audit/export', {
      headers: { authorization: `Bearer ${owner.session}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const lines = parseNdjson(await res.text())
    // Buffered mode: the export's own event may or may not be written before the stream ends.
    const reads = lines.filter((e) => e.action === 'key.value.read')
    expect(reads.map((e) => e.details.n)).toEqual(Array.from({ length: 450 }, (_, i) => i + 1))
    for (const { hash, ...body } of lines) expect(hashEvent(body as never)).toBe(hash)

    await stack.deps.audit.flush()
    const exports = await list(owner.session, '?action=audit.export')
    expect(exports.items).toHaveLength(1)
    expect(exports.items[0]).toMatchObject({
      actor: { type: 'user', id: owner.userId },
      requestId: res.headers.get('x-request-id'),
    })
  })

  it('exports only the requested range and action', async () => {
    const owner = await signup(api)
    await recordEvents(stack, clock, owner.tenantId, 4)
    const from = new Date(clock.now() - 1500).toISOString()
    const res = await stack.app.request(`/v1/audit/export?from=${from}&action=key.value.read`, {
      headers: { authorization: `Bearer ${owner.session}` },
    })
    expect(parseNdjson(await res.text()).map((e) => e.details.n)).toEqual([3, 4])
  })
})
