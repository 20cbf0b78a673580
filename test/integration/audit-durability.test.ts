import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { eventItems, injectAuditWriteFaults, parseNdjson } from './audit-helpers.ts'

let stack: Stack
let api: ReturnType<typeof client>
let auditWrites: ReturnType<typeof injectAuditWriteFaults>

beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_AUDIT_MODE: 'strict' } })
  api = client(stack.app)
  auditWrites = injectAuditWriteFaults(stack)
})
afterAll(() => stack?.close())

describe('strict mode', () => {
  it('fails closed: a request whose event cannot be written gets 503 and reveals nothing', async () => {
    const owner = await signup(api)
    const headers = { authorization: `Bearer ${owner.session}` }
    const created = await api.post(
      '/v1/tokens',
      { name: 'lister', scopes: ['keys:list'], expiresIn: 3600, environment: 'production' },
      owner.session,
    )
    // The export is recorded before anything is read, so it lists itself.
    const first = await stack.app.request('/v1/audit/export', { headers })
    expect(first.status).toBe(200)
    expect(parseNdjson(await first.text()).map((e) => e.action)).toEqual([
      'auth.signup',
      'token.create',
      'audit.export',
    ])
    expect(
      (await api.post('/v1/keys', { name: 'k', value: 'strict-secret-value' }, owner.session))
        .status,
    ).toBe(201)
    const reader = await api.post(
      '/v1/tokens',
      { name: 'reader', scopes: ['keys:read'], expiresIn: 600 },
      owner.session,
    )

    auditWrites.failing = true
    // A value is never revealed without its audit event.
    const read = await api.get('/v1/keys/k/value', reader.body.token)
    expect([read.status, read.body.code]).toEqual([503, 'audit_unavailable'])
    expect(JSON.stringify(read.body)).not.toContain('strict-secret-value')
    const write = await api.put('/v1/keys/k/value', { value: 'unaudited-version' }, owner.session)
    expect(write.status).toBe(503)

    const refused = await stack.app.request('/v1/audit/export', { headers })
    const text = await refused.text()
    expect(refused.status).toBe(503)
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    expect(JSON.parse(text).code).toBe('audit_unavailable')
    expect(text).not.toContain('audit.export') // none of the stored events leaked out

    // A refusal stays a refusal when its event cannot be written; the failure is logged.
    const rejected = await api.get('/v1/audit', created.body.token)
    expect(rejected.status).toBe(403)
    const failures = stack.logs.lines().filter((line) => line.msg === 'audit write failed')
    expect(failures.map((line) => line.requestId)).toContain(rejected.headers.get('x-request-id'))

    auditWrites.failing = false
    const after = await stack.app.request('/v1/audit/export', { headers })
    expect(after.status).toBe(200)
    const verify = await api.get('/v1/audit/verify', owner.session)
    expect(verify.body).toMatchObject({ ok: true })
    // The failed write closed the first chain; later events opened another.
    expect(verify.body.chains.length).toBeGreaterThanOrEqual(2)
  })
})

describe('buffered mode shutdown', () => {
  it('writes everything buffered when the app is closed', async () => {
    const buffered = await startStack({ env: { KEYSTASH_AUDIT_MODE: 'buffered' } })
    try {
      const owner = await signup(client(buffered.app))
      const records = Array.from({ length: 120 }, (_, i) =>
        buffered.deps.audit.record({
          tenantId: owner.tenantId,
          action: 'org.update',
          actor: { type: 'user', id: owner.userId },
          target: { type: 'org', id: owner.tenantId },
          outcome: { result: 'success' },
          details: { n: i },
        }),
      )
      await Promise.all(records)
      expect(buffered.deps.audit.pending).toBeGreaterThan(0)
      await buffered.deps.audit.close()
      expect(buffered.deps.audit.pending).toBe(0)
      const items = await eventItems(buffered, owner.tenantId)
      const recorded = items.filter((item) => item.action === 'org.update')
      expect(recorded.map((item) => item.details.n).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 120 }, (_, i) => i),
      )
    } finally {
      await buffered.close()
    }
  })
})
