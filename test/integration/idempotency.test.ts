import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdempotencyStore } from '../../src/storage/idempotency.ts'
import { idempotentApp } from '../sdk/support/app.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let now = Date.now()
const clock = { now: () => now }
let app: ReturnType<typeof idempotentApp>

beforeAll(async () => {
  stack = await startStack()
  app = idempotentApp(stack, clock)
})
afterAll(() => stack?.close())

async function post(path: string, body: unknown, token: string, key?: string) {
  const res = await app.request(path, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(key !== undefined ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify(body),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

const tokenBody = (name = 'ci') => ({ name, scopes: ['keys:read'], expiresIn: 3600 })

async function tokenCount(session: string) {
  const res = await app.request('/v1/tokens?limit=100', {
    headers: { authorization: `Bearer ${session}` },
  })
  return ((await res.json()) as { items: unknown[] }).items.length
}

describe('Idempotency-Key on POST', () => {
  it('answers a retried create with the first result instead of creating a second', async () => {
    const { session } = await signup(client(app))
    const before = await tokenCount(session)
    const first = await post('/v1/tokens', tokenBody(), session, 'retry-1')
    const again = await post('/v1/tokens', tokenBody(), session, 'retry-1')
    expect(first.status).toBe(201)
    expect(again.status).toBe(201)
    expect(again.body).toEqual(first.body)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    expect(again.headers.get('cache-control')).toBe('no-store')
    expect(await tokenCount(session)).toBe(before + 1)
    // Without a key, the same body makes another token.
    expect((await post('/v1/tokens', tokenBody(), session)).body.id).not.toBe(first.body.id)
  })

  it('stores a secret-bearing response sealed, never the token string in plaintext', async () => {
    const { session } = await signup(client(app))
    const created = await post('/v1/tokens', tokenBody(), session, 'sealed-1')
    const { Items = [] } = await stack.aws.doc.send(
      new ScanCommand({ TableName: stack.table.tableName }),
    )
    const records = Items.filter((item) => String(item.pk).startsWith('IDEMP#'))
    expect(records.length).toBeGreaterThan(0)
    const dump = JSON.stringify(records)
    expect(dump).not.toContain(created.body.token)
    expect(dump).not.toContain('sealed-1') // only the key's hash is stored
    const sealed = records.filter((r) => r.response?.sealed !== undefined)
    expect(sealed.length).toBeGreaterThan(0)
    for (const record of sealed) expect(record.response.body).toBeUndefined()
  })

  it('refuses the key for a different body, and for a different token', async () => {
    const { session } = await signup(client(app))
    await post('/v1/tokens', tokenBody('a'), session, 'k-mismatch')
    const other = await post('/v1/tokens', tokenBody('b'), session, 'k-mismatch')
    expect(other.status).toBe(409)
    expect(other.body).toMatchObject({ code: 'idempotency_conflict', reason: 'mismatch' })
    expect(other.headers.get('retry-after')).toBeNull()

    // Another principal of the same tenant must not receive the first token's string.
    const minted = await post(
      '/v1/tokens',
      { name: 'minter', scopes: ['tokens:write', 'keys:read'], expiresIn: 3600 },
      session,
    )
    const stolen = await post('/v1/tokens', tokenBody('a'), minted.body.token, 'k-mismatch')
    expect(stolen.status).toBe(409)
    expect(JSON.stringify(stolen.body)).not.toContain('eyJ')
  })

  it('keeps keys per tenant', async () => {
    const a = await signup(client(app))
    const b = await signup(client(app))
    const first = await post('/v1/tokens', tokenBody(), a.session, 'shared-key')
    const second = await post('/v1/tokens', tokenBody(), b.session, 'shared-key')
    expect(second.status).toBe(201)
    expect(second.headers.get('idempotent-replayed')).toBeNull()
    expect(second.body.id).not.toBe(first.body.id)
  })

  it('answers a duplicate that arrives while the first runs with 409 and Retry-After', async () => {
    const { session } = await signup(client(app))
    let entered!: () => void
    let release!: () => void
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve
    })
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = idempotentApp(stack, clock)
    slow.routes.post('/v1/test-slow', async (c) => {
      entered()
      await gate
      return c.json({ done: true }, 201)
    })
    const call = () =>
      slow.request('/v1/test-slow', {
        method: 'POST',
        headers: { authorization: `Bearer ${session}`, 'idempotency-key': 'slow-1' },
      })
    const first = call()
    await inHandler
    const duplicate = await call()
    expect(duplicate.status).toBe(409)
    expect(duplicate.headers.get('retry-after')).toBe('1')
    expect(await duplicate.json()).toMatchObject({ reason: 'in_flight' })
    release()
    expect((await first).status).toBe(201)
    const replayed = await call()
    expect(replayed.status).toBe(201)
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    expect(await replayed.json()).toEqual({ done: true })
  })

  it('remembers only successes: after an error the same key runs the request again', async () => {
    const { session } = await signup(client(app))
    const flaky = idempotentApp(stack, clock)
    let calls = 0
    flaky.routes.post('/v1/test-flaky', (c) =>
      ++calls === 1 ? c.json({ failed: true }, 503) : c.json({ call: calls }, 201),
    )
    const call = () =>
      flaky.request('/v1/test-flaky', {
        method: 'POST',
        headers: { authorization: `Bearer ${session}`, 'idempotency-key': 'flaky-1' },
      })
    expect((await call()).status).toBe(503)
    const second = await call()
    expect(second.status).toBe(201)
    expect(second.headers.get('idempotent-replayed')).toBeNull()
    expect(await (await call()).json()).toEqual({ call: 2 })
    expect(calls).toBe(2)
  })

  it('forgets a key after 24 hours', async () => {
    const { session } = await signup(client(app))
    const first = await post('/v1/tokens', tokenBody(), session, 'day-old')
    now += 24 * 3600_000 + 1000
    try {
      const later = await post('/v1/tokens', { ...tokenBody(), name: 'other' }, session, 'day-old')
      expect(later.status).toBe(201)
      expect(later.body.id).not.toBe(first.body.id)
    } finally {
      now = Date.now()
    }
  })

  it('leaves unauthenticated POSTs alone and refuses malformed keys', async () => {
    const email = `idem-${Date.now()}@example.com`
    const signupBody = { email, password: 'correct horse battery staple' }
    const res = await app.request('/v1/auth/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'signup-1' },
      body: JSON.stringify(signupBody),
    })
    expect(res.status).toBe(201)
    const session = ((await res.json()) as any).session.token
    const bad = await post('/v1/tokens', tokenBody(), session, 'x'.repeat(256))
    expect(bad.status).toBe(400)
    expect(bad.body.code).toBe('bad_request')
  })
})

describe('the idempotency store', () => {
  it('lets a request take over a claim whose lock expired (a crashed instance)', async () => {
    let t = 1_000_000
    const store = createIdempotencyStore({
      doc: stack.aws.doc,
      table: stack.table.tableName,
      clock: { now: () => t },
      lockMs: 60_000,
    })
    const scope = { tenantId: 'org_lock', keyHash: 'a'.repeat(64) }
    const first = await store.begin(scope, 'fp')
    expect(first.kind).toBe('started')
    expect((await store.begin(scope, 'fp')).kind).toBe('in_flight')
    expect((await store.begin(scope, 'other')).kind).toBe('mismatch')
    t += 60_001
    const second = await store.begin(scope, 'fp')
    expect(second.kind).toBe('started')
    // The first owner's late completion does not overwrite the new claim.
    if (first.kind === 'started') {
      await store.complete(scope, first.owner, { status: 201, headers: {}, body: 'late' })
    }
    expect((await store.begin(scope, 'fp')).kind).toBe('in_flight')
  })
})
