import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditInput } from '../../src/audit/events.ts'
import type { buildDeps } from '../../src/deps.ts'
import { valueReadEntrance } from '../../src/reads/entrance.ts'
import { createValueRead } from '../../src/reads/value-read.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'
import { injectAuditWriteFaults } from './audit-helpers.ts'

/**
 * A value read has two entrances to one `read()` (src/reads/value-read.ts): the early one
 * (src/reads/entrance.ts), which the app's fetch asks before Hono, and the Hono route. The
 * early one must answer a read exactly as the route does, and decline, having recorded
 * nothing, everything it must not answer. Both run here against the same instance and the
 * same caches; every other value-read test goes through `app.request()`, and so through the
 * early entrance first.
 */

let stack: Stack
let api: ReturnType<typeof client>
let auditWrites: ReturnType<typeof injectAuditWriteFaults>
beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
  auditWrites = injectAuditWriteFaults(stack)
})
afterAll(() => stack?.close())

/** The early entrance of an instance, with the audit events it records kept aside. */
function fastPathOf(deps: ReturnType<typeof buildDeps>) {
  const recorded: AuditInput[] = []
  const audit = {
    mode: deps.audit.mode,
    record: (event: AuditInput) => {
      recorded.push(event)
      return deps.audit.record(event)
    },
  }
  const fast = valueReadEntrance({
    read: createValueRead({ ...deps, audit }),
    logger: deps.logger,
  })
  const read = async (req: Request) => await fast(req, undefined)
  return { read, answer: (req: Request) => fast(req, undefined), recorded }
}

const request = (path: string, token: string, init: RequestInit = {}) =>
  new Request(`http://localhost${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as object) },
  })

async function ownerWithKey(value = 'sk-proj-fast-path-value') {
  const account = await signup(api)
  const mint = tokenMinter(api, account.session)
  const key = (await api.post('/v1/keys', { name: 'openai', value }, account.session)).body
  return { ...account, key, value, mint, reader: await mint({ scopes: ['keys:read'] }) }
}

/** Reads through the app until the token's status, the key record and the DEK are all warm. */
async function warm(path: string, token: string, app = stack.app) {
  for (let i = 0; i < 3; i++) {
    const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
  }
}

const revealedValue = async (res: Response | undefined) =>
  ((await res?.json()) as { value?: string } | undefined)?.value

// The request id is each answer's own, and so is the remaining count in RateLimit.
const headersOf = (res: Response) =>
  Object.fromEntries(
    [...res.headers]
      .filter(([name]) => name !== 'x-request-id')
      .map(([name, value]) => [
        name,
        name === 'ratelimit' ? value.replace(/r=\d+/g, 'r=N') : value,
      ]),
  )

describe('the two entrances of a value read', () => {
  it('answer a read alike: headers, body, audit event, log line', async () => {
    const owner = await ownerWithKey()
    const fast = fastPathOf(stack.deps)
    const path = '/v1/keys/openai/value'
    // Cold caches: the early entrance waits for what it must read and answers.
    const cold = await fast.read(request(path, owner.reader))
    expect(await revealedValue(cold)).toBe(owner.value)
    const routed = await stack.app.routes.request(request(path, owner.reader))
    await warm(path, owner.reader)

    const answer = await fast.read(request(path, owner.reader))
    expect(answer).toBeDefined()
    if (!answer) return
    expect(answer.status).toBe(routed.status)
    expect(headersOf(answer)).toEqual(headersOf(routed))
    expect(answer.headers.get('cache-control')).toBe('no-store')
    const body = (await answer.json()) as { value: string }
    expect(body).toEqual(await routed.json())
    expect(body.value).toBe(owner.value)
    const requestId = answer.headers.get('x-request-id') as string
    expect(requestId).toMatch(/^req_[0-9a-f]{32}$/)
    expect(requestId).not.toBe(routed.headers.get('x-request-id'))

    // The same event as the routed read's, but for the request it answered (and the cold one).
    expect(fast.recorded).toHaveLength(2)
    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=key.value.read', owner.session)).body.items
    const routedEvent = events.find((e: any) => e.requestId === routed.headers.get('x-request-id'))
    const fastEvent = events.find((e: any) => e.requestId === requestId)
    // Ids, times, request ids and chain hashes are the event's own; the rest must match.
    const comparable = (e: any) => [
      e.tenantId,
      e.action,
      e.actor,
      e.target,
      e.outcome,
      e.client,
      e.details,
    ]
    expect(routedEvent).toBeDefined()
    expect(comparable(fastEvent)).toEqual(comparable(routedEvent))
    expect(fastEvent.actor).toMatchObject({ type: 'token', id: expect.stringMatching(/^tok_/) })
    expect(fastEvent.details).toEqual({
      version: 1,
      environment: 'production',
      mode: 'live',
      modeSource: expect.any(String),
    })

    // The access-log line the route writes, and nothing with the value in it.
    const line = stack.logs.lines().find((entry) => entry.requestId === requestId)
    expect(line).toMatchObject({ method: 'GET', path, status: 200, msg: 'request' })
    expect(stack.logs.text()).not.toContain(owner.value)
  })

  it('echoes a well-formed X-Request-Id, as the route does', async () => {
    const owner = await ownerWithKey()
    await warm('/v1/keys/openai/value', owner.reader)
    const fast = fastPathOf(stack.deps)
    const answer = await fast.read(
      request('/v1/keys/openai/value', owner.reader, {
        headers: { 'x-request-id': 'trace-0042.a' },
      }),
    )
    expect(answer?.headers.get('x-request-id')).toBe('trace-0042.a')
    const made = await fast.read(
      request('/v1/keys/openai/value', owner.reader, { headers: { 'x-request-id': 'bad id!' } }),
    )
    expect(made?.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/)
  })

  it('run a warm read start to finish without waiting: the answer is no promise', async () => {
    // A staleness bound no busy machine outlasts between the warm-up and the read.
    const instance = stack.anotherInstance({ KEYSTASH_RECORD_CACHE_MS: '60000' })
    const owner = await ownerWithKey()
    const path = '/v1/keys/openai/value'
    await warm(path, owner.reader, instance.app)
    const early = fastPathOf(instance.deps)
    const answer = early.answer(request(path, owner.reader))
    expect(answer).toBeInstanceOf(Response)
    expect(await revealedValue(answer as Response)).toBe(owner.value)
    // A cold one waits where it is cold: another token, its status not yet read here.
    const cold = early.answer(request(path, await owner.mint({ scopes: ['keys:read'] })))
    expect(cold).toBeInstanceOf(Promise)
    expect(await revealedValue(await cold)).toBe(owner.value)
  })

  it('reads by id as by name', async () => {
    const owner = await ownerWithKey()
    const path = `/v1/keys/${owner.key.id}/value`
    await warm(path, owner.reader)
    const answer = await fastPathOf(stack.deps).read(request(path, owner.reader))
    expect(await revealedValue(answer)).toBe(owner.value)
  })

  it('declines, recording nothing, whatever the route must refuse or handle', async () => {
    const owner = await ownerWithKey()
    const other = await ownerWithKey('sk-proj-other-tenant')
    const path = '/v1/keys/openai/value'
    await warm(path, owner.reader)
    await warm(path, other.reader)
    const restricted = await owner.mint({ scopes: ['keys:read'], keys: ['anthropic-*'] })
    const listOnly = await owner.mint({ scopes: ['keys:list'] })
    const development = await owner.mint({ scopes: ['keys:read'], environment: 'development' })
    const revoked = await api.post(
      '/v1/tokens',
      { name: 'soon revoked', scopes: ['keys:read'], expiresIn: 3600, environment: 'production' },
      owner.session,
    )
    // Each token is verified and its status remembered before the early entrance is asked.
    for (const token of [restricted, listOnly, development, revoked.body.token]) {
      await api.get(path, token)
      await api.get(path, token)
    }
    expect((await api.delete(`/v1/tokens/${revoked.body.id}`, owner.session)).status).toBe(204)

    const cases: Array<[string, Request, number, string?]> = [
      ['a token restricted to other keys', request(path, restricted), 404, 'not_found'],
      ['a token without keys:read', request(path, listOnly), 403, 'insufficient_scope'],
      [
        'another tenant’s token, this key’s id',
        request(`/v1/keys/${owner.key.id}/value`, other.reader),
        404,
        'not_found',
      ],
      ['a revoked token', request(path, revoked.body.token), 401, 'token_revoked'],
      ['an older version', request(`${path}?version=1`, owner.reader), 200],
      ['credentials in the query', request(`${path}?token=x`, owner.reader), 401, 'unauthorized'],
      ['a HEAD request', request(path, owner.reader, { method: 'HEAD' }), 200],
      ['a missing key', request('/v1/keys/missing/value', owner.reader), 404, 'not_found'],
      ['a malformed ref', request('/v1/keys/a%20b/value', owner.reader), 422],
      ['a token it never verified', request(path, `${owner.reader}x`), 401, 'invalid_token'],
    ]
    const fast = fastPathOf(stack.deps)
    for (const [label, req, status, code] of cases) {
      expect(await fast.read(req.clone()), label).toBeUndefined()
      const routed = await stack.app.routes.request(req)
      expect(routed.status, label).toBe(status)
      if (code) expect(((await routed.json()) as { code: string }).code, label).toBe(code)
    }
    expect(fast.recorded).toEqual([])
    // A mock value is answered alike by both.
    const [early, routedMock] = [
      await fast.read(request(path, development)),
      await stack.app.routes.request(request(path, development)),
    ]
    expect(early?.headers.get('keystash-mode')).toBe('mock')
    expect(await early?.json()).toEqual(await routedMock.json())
    // Another tenant's token, warm as it is, reads its own key, never this one.
    const theirs = await fast.read(request(path, other.reader))
    expect(await revealedValue(theirs)).toBe('sk-proj-other-tenant')
  })

  it('declines when the audit recorder throws, leaving the error to the route', async () => {
    const owner = await ownerWithKey()
    await warm('/v1/keys/openai/value', owner.reader)
    const read = valueReadEntrance({
      read: createValueRead({
        ...stack.deps,
        audit: {
          mode: 'buffered',
          record: () => {
            throw new Error('recorder failed')
          },
        },
      }),
      logger: stack.deps.logger,
    })
    expect(read(request('/v1/keys/openai/value', owner.reader), undefined)).toBeUndefined()
  })

  it('in strict audit mode, answers once the event is written, and never without it', async () => {
    const strict = stack.anotherInstance({ KEYSTASH_AUDIT_MODE: 'strict' })
    const owner = await ownerWithKey()
    const path = '/v1/keys/openai/value'
    await warm(path, owner.reader, strict.app)
    const fast = fastPathOf(strict.deps)
    const answer = await fast.read(request(path, owner.reader))
    expect(await revealedValue(answer)).toBe(owner.value)
    // Written before the answer was handed over: no flush needed to find it.
    const events = (await api.get('/v1/audit?action=key.value.read', owner.session)).body.items
    expect(events.map((e: any) => e.requestId)).toContain(answer?.headers.get('x-request-id'))

    auditWrites.failing = true
    try {
      // The early entrance drops its answer; the route tries again and fails closed.
      expect(await fast.read(request(path, owner.reader))).toBeUndefined()
      const refused = await strict.app.request(request(path, owner.reader))
      expect(refused.status).toBe(503)
      const text = await refused.text()
      expect(JSON.parse(text).code).toBe('audit_unavailable')
      expect(text).not.toContain(owner.value)
    } finally {
      auditWrites.failing = false
    }
    expect(fast.recorded).toHaveLength(2)
  })
})
