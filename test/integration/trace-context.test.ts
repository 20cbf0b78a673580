import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

/**
 * W3C traceparent: a caller's trace id is in every log line and audit event of its request,
 * on both value-read paths, and in problem responses beside requestId; a request without one
 * gets a trace of its own.
 */

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

const traced = (traceId: string, token: string) => ({
  headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
})
const traceIdOf = (n: number) => n.toString(16).padStart(32, 'a')

describe('trace context', () => {
  it('carries the caller’s trace id into log lines, audit events and problems', async () => {
    const owner = await signup(api)
    await api.post('/v1/keys', { name: 'openai', value: 'sk-traced' }, owner.session)
    const reader = await tokenMinter(api, owner.session)({ scopes: ['keys:read'] })

    // Cold and then warm reads (the routed path, then the fast one once caches are warm).
    const reads: Array<{ traceId: string; requestId: string }> = []
    for (let i = 1; i <= 4; i++) {
      const res = await stack.app.request('/v1/keys/openai/value', traced(traceIdOf(i), reader))
      expect(res.status).toBe(200)
      reads.push({ traceId: traceIdOf(i), requestId: res.headers.get('x-request-id') as string })
    }
    // A refusal: the problem names the trace beside the request id.
    const missing = await stack.app.request('/v1/keys/missing/value', traced(traceIdOf(99), reader))
    expect(missing.status).toBe(404)
    const problem = (await missing.json()) as Record<string, unknown>
    expect(problem).toMatchObject({ code: 'not_found', traceId: traceIdOf(99) })
    expect(problem.requestId).toEqual(expect.any(String))
    const denied = await stack.app.request('/v1/keys/openai/value', traced(traceIdOf(98), 'x.y.z'))
    expect(((await denied.json()) as { traceId: string }).traceId).toBe(traceIdOf(98))

    // Each request's access-log line carries its trace id.
    const lines = stack.logs.lines()
    for (const { traceId, requestId } of reads) {
      const line = lines.find((l) => l.requestId === requestId && l.msg === 'request')
      expect(line, requestId).toMatchObject({ traceId, status: 200 })
    }
    expect(
      lines
        .filter((l) => l.traceId === traceIdOf(99))
        .every((l) => l.requestId === problem.requestId),
    ).toBe(true)

    // Each read's audit event too, on both paths; the failed read's as well.
    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=key.value.read', owner.session)).body.items
    for (const { traceId, requestId } of reads) {
      expect(events.find((e: any) => e.requestId === requestId)?.traceId, requestId).toBe(traceId)
    }
    expect(events.find((e: any) => e.requestId === problem.requestId)?.traceId).toBe(traceIdOf(99))
    // And the chain, with trace ids in it, still verifies.
    const verified = await api.get('/v1/audit/verify', owner.session)
    expect(verified.body).toMatchObject({ ok: true, problems: [] })
  })

  it('starts a trace for a request that brings none, or an invalid one', async () => {
    const invalid = `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`
    for (const headers of [{}, { traceparent: invalid }] as Array<Record<string, string>>) {
      const res = await stack.app.request('/v1/keys/openai', { headers })
      expect(res.status).toBe(401)
      const body = (await res.json()) as { traceId: string; requestId: string }
      expect(body.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(body.traceId).not.toBe('0'.repeat(32))
      const line = stack.logs
        .lines()
        .find((l) => l.requestId === body.requestId && l.msg === 'request')
      expect(line?.traceId).toBe(body.traceId)
    }
  })
})
