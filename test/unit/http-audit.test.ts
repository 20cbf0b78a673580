import { type Context, Hono } from 'hono'
import { describe, expect, it, vi } from 'vitest'
import type { AuditInput } from '../../src/audit/events.ts'
import { AppError } from '../../src/errors.ts'
import { audited, auditSuccess, type RequestAudit } from '../../src/http/audit.ts'
import type { AppEnv } from '../../src/http/env.ts'
import { auditRejections } from '../../src/http/middleware/audit-rejections.ts'

function recorder(mode: RequestAudit['mode']) {
  const events: AuditInput[] = []
  const record = vi.fn(async (event: AuditInput) => {
    events.push(event)
  })
  return { audit: { mode, record } satisfies RequestAudit, events, record }
}

/** Runs `handler` inside a real request, with the request id the middleware would set. */
async function inRequest(handler: (c: Context<AppEnv>) => Promise<Response>) {
  const app = new Hono<AppEnv>()
  app.get('/', (c, next) => {
    c.set('requestId', 'req_test_audit_0001')
    return next()
  })
  app.get('/', handler)
  app.onError((error, c) => c.json({ code: (error as AppError).code }, 500))
  return app.request('/', { headers: { 'user-agent': 'audit-test/1.0' } })
}

describe('request audit helpers', () => {
  it('with the audit trail off, run the work and build no event at all', async () => {
    const { audit, record } = recorder('off')
    const entry = vi.fn(() => ({ action: 'key.value.read' as const }))
    const res = await inRequest(async (c) => {
      const value = await audited(c, audit, entry, async () => 'result')
      await auditSuccess(c, audit, { action: 'key.create' })
      return c.text(value)
    })
    expect(await res.text()).toBe('result')
    expect(record).not.toHaveBeenCalled()
    expect(entry).not.toHaveBeenCalled()
  })

  it('with the audit trail on, record the outcome with the request filled in', async () => {
    const { audit, events } = recorder('buffered')
    const res = await inRequest(async (c) => {
      const value = await audited(
        c,
        audit,
        (result: string) => ({ action: 'key.value.read', details: { length: result.length } }),
        async () => 'result',
      )
      return c.text(value)
    })
    expect(res.status).toBe(200)
    expect(events).toEqual([
      expect.objectContaining({
        action: 'key.value.read',
        outcome: { result: 'success' },
        requestId: 'req_test_audit_0001',
        client: { address: null, userAgent: 'audit-test/1.0' },
        details: { length: 6 },
      }),
    ])
  })

  it('records a failure and passes the error on', async () => {
    const { audit, events } = recorder('strict')
    const res = await inRequest(async (c) => {
      await audited(
        c,
        audit,
        () => ({ action: 'key.value.read' }),
        async () => {
          throw new AppError('not_found', 'No such key.')
        },
        { action: 'key.value.read', target: { type: 'key', id: 'missing', name: null } },
      )
      return c.text('unreachable')
    })
    expect(await res.json()).toEqual({ code: 'not_found' })
    expect(events).toEqual([
      expect.objectContaining({
        action: 'key.value.read',
        outcome: { result: 'denied', code: 'not_found' },
      }),
    ])
  })
})

describe('auditRejections', () => {
  async function reject(mode: RequestAudit['mode']) {
    const { audit, events } = recorder(mode)
    const identify = vi.fn(async () => ({ tenantId: 'org_1', tokenId: 'tok_1' }))
    const app = new Hono<AppEnv>()
    app.use(auditRejections({ audit, identify }))
    app.get('/', () => {
      throw new AppError('token_revoked', 'The token has been revoked.')
    })
    app.onError((error, c) => c.json({}, (error as AppError).status as 401))
    const res = await app.request('/', { headers: { authorization: 'Bearer a.b.c' } })
    expect(res.status).toBe(401)
    return { events, identify }
  }

  it('records a rejected token use, identifying the token', async () => {
    const { events, identify } = await reject('buffered')
    expect(identify).toHaveBeenCalledWith('a.b.c')
    expect(events).toEqual([
      expect.objectContaining({
        action: 'token.rejected',
        tenantId: 'org_1',
        outcome: { result: 'denied', code: 'token_revoked' },
      }),
    ])
  })

  it('with the audit trail off, neither identifies the token nor builds an event', async () => {
    const { events, identify } = await reject('off')
    expect(identify).not.toHaveBeenCalled()
    expect(events).toEqual([])
  })
})
