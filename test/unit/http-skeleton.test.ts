import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { createAwsClients } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { buildDeps } from '../../src/deps.ts'
import { SECURITY_HEADERS } from '../../src/http/response-headers.ts'
import { captureLogs } from '../support/log-capture.ts'

function build(probes: Record<string, () => Promise<void>> = {}) {
  const logs = captureLogs()
  const config = loadConfig({})
  const app = createApp({ ...buildDeps(config, logs.logger, createAwsClients(config)), probes })
  // A route that echoes a validated body, to reach the body guard and the validators.
  app.routes.post('/echo', async (c) => c.json(await c.req.json()))
  app.routes.get('/boom', () => {
    throw new Error('secret-canary-in-message')
  })
  return { app, logs }
}

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  const body = (await res.json()) as Record<string, unknown>
  expect(body).toMatchObject({ status, code })
  expect(typeof body.title).toBe('string')
  expect(typeof body.detail).toBe('string')
  expect(body.type).toMatch(/^https:\/\//)
  expect(body.requestId).toBe(res.headers.get('x-request-id'))
  return body
}

describe('HTTP skeleton', () => {
  it('answers liveness', async () => {
    const { app } = build()
    const res = await app.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('answers readiness with the failing dependency named', async () => {
    const { app } = build({
      dynamodb: async () => {},
      kms: async () => {
        throw new Error('connect ECONNREFUSED')
      },
    })
    const res = await app.request('/readyz')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      status: 'unavailable',
      checks: { dynamodb: 'ok', kms: 'unavailable' },
    })
    const ok = build({ dynamodb: async () => {}, kms: async () => {} })
    expect((await ok.app.request('/readyz')).status).toBe(200)
  })

  it('keeps a well-formed X-Request-Id and replaces a malformed one', async () => {
    const { app } = build()
    const kept = await app.request('/healthz', { headers: { 'x-request-id': 'client-req-12345' } })
    expect(kept.headers.get('x-request-id')).toBe('client-req-12345')
    const replaced = await app.request('/healthz', {
      headers: { 'x-request-id': 'bad id <script>' },
    })
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/)
  })

  it('sends the security headers and the request id on every response', async () => {
    const { app } = build()
    for (const res of [await app.request('/healthz'), await app.request('/nope')]) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(res.headers.get(name)).toBe(value)
      }
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      )
      expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/)
    }
  })

  it('answers unknown routes with a problem+json 404', async () => {
    const { app } = build()
    await expectProblem(await app.request('/nope'), 404, 'not_found')
  })

  it('answers a wrong method with 405 and Allow', async () => {
    const { app } = build()
    const res = await app.request('/healthz', { method: 'DELETE' })
    const body = await expectProblem(res, 405, 'method_not_allowed')
    expect(res.headers.get('allow')).toContain('GET')
    expect(body.allow).toContain('GET')
  })

  it('works out Allow for routes with parameters, and only for paths that exist', async () => {
    const { app } = build()
    const res = await app.request('/v1/keys/openai-prod/value', { method: 'DELETE' })
    const body = await expectProblem(res, 405, 'method_not_allowed')
    expect([...(body.allow as string[])].sort()).toEqual(['GET', 'HEAD', 'PUT'])
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'PUT'])
    await expectProblem(
      await app.request('/v1/keys/openai-prod/values', { method: 'DELETE' }),
      404,
      'not_found',
    )
  })

  it('refuses bodies over the limit with 413, declared or streamed', async () => {
    const { app } = build()
    const big = JSON.stringify({ value: 'x'.repeat(64 * 1024) })
    await expectProblem(
      await app.request('/echo', {
        method: 'POST',
        body: big,
        headers: { 'content-type': 'application/json' },
      }),
      413,
      'payload_too_large',
    )
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 70; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)))
        controller.close()
      },
    })
    await expectProblem(
      await app.request('/echo', {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit),
      413,
      'payload_too_large',
    )
  })

  it('refuses non-JSON bodies with 415 and malformed JSON with 400', async () => {
    const { app } = build()
    await expectProblem(
      await app.request('/echo', {
        method: 'POST',
        body: 'a=b',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    )
    const res = await app.request('/echo', {
      method: 'POST',
      body: '{"value": "sk-canary-123",',
      headers: { 'content-type': 'application/json' },
    })
    const body = await expectProblem(res, 400, 'invalid_json')
    expect(JSON.stringify(body)).not.toContain('sk-canary-123')
  })

  it('turns unknown errors into a generic 500 whose requestId is in the log, without the message', async () => {
    const { app, logs } = build()
    const res = await app.request('/boom')
    const body = await expectProblem(res, 500, 'internal')
    expect(JSON.stringify(body)).not.toContain('secret-canary')
    const lines = logs.lines().filter((l) => l.requestId === body.requestId)
    expect(lines.length).toBeGreaterThanOrEqual(2)
    expect(lines.some((l) => l.msg === 'request' || l.msg === 'request failed')).toBe(true)
    expect(logs.text()).not.toContain('secret-canary')
  })

  it('puts the requestId of every error response in that request’s log line', async () => {
    const { app, logs } = build()
    for (const [path, init] of [
      ['/nope', {}],
      ['/healthz', { method: 'PUT' }],
      ['/echo', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } }],
    ] as const) {
      const res = await app.request(path, init)
      const id = res.headers.get('x-request-id')
      const line = logs.lines().find((l) => l.requestId === id && typeof l.status === 'number')
      expect(line?.status).toBe(res.status)
    }
  })

  it('redacts secret fields at every level and never logs the query string', async () => {
    const { app, logs } = build()
    logs.logger.debug({
      value: 'canary-1',
      nested: { password: 'canary-2', deeper: { token: 'canary-3' } },
    })
    await app.request('/healthz?token=canary-4')
    expect(logs.text()).not.toMatch(/canary-[1-4]/)
    expect(logs.text()).toContain('[redacted]')
  })
})
