import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SECURITY_HEADERS } from '../../src/http/response-headers.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function owner() {
  const account = await signup(api)
  const mint = tokenMinter(api, account.session)
  return { ...account, mint, reader: await mint({ scopes: ['keys:read', 'keys:list'] }) }
}

describe('storing and reading keys', () => {
  it.each([
    ['spaces only', '   '],
    ['whitespace around', ' \tsk-live-value\n '],
    ['multi-byte UTF-8', 'clé-🔑-ключ-鍵'],
    ['exactly 16 KiB', 'x'.repeat(16 * 1024)],
    ['16 KiB of multi-byte characters', 'é'.repeat(8 * 1024)],
  ])('round-trips %s exactly', async (_label, value) => {
    const { session, reader } = await owner()
    const created = await api.post('/v1/keys', { name: 'k', value }, session)
    expect(created.status).toBe(201)
    const read = await api.get('/v1/keys/k/value', reader)
    expect(read.status).toBe(200)
    expect(read.body.value).toBe(value)
    expect(read.headers.get('cache-control')).toBe('no-store')
    // The documented KeyValue shape and Keystash-Mode header (openapi.yaml).
    expect(Object.keys(read.body).sort()).toEqual([
      'keyId',
      'mode',
      'name',
      'provider',
      'value',
      'version',
    ])
    expect(['mock', 'live']).toContain(read.headers.get('keystash-mode'))
    expect(read.headers.get('keystash-mode')).toBe(read.body.mode.effective)
    // The hot path builds its own headers: the same security headers as every other answer.
    for (const [name, header] of Object.entries(SECURITY_HEADERS)) {
      expect(read.headers.get(name)).toBe(header)
    }
    expect(read.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/)
  })

  it('refuses 16 KiB + 1 byte and an empty value, storing nothing', async () => {
    const { session } = await owner()
    const tooBig = await api.post(
      '/v1/keys',
      { name: 'big', value: 'x'.repeat(16 * 1024 + 1) },
      session,
    )
    expect([tooBig.status, tooBig.body.code]).toEqual([422, 'validation_failed'])
    const multiByte = await api.post(
      '/v1/keys',
      { name: 'big', value: `${'é'.repeat(8 * 1024)}x` },
      session,
    )
    expect(multiByte.status).toBe(422)
    expect((await api.post('/v1/keys', { name: 'empty', value: '' }, session)).status).toBe(422)
    expect((await api.get('/v1/keys', session)).body.items).toEqual([])
  })

  it('reads by id and by name, keeps old versions, lists versions, deletes', async () => {
    const { session, reader } = await owner()
    const key = (
      await api.post(
        '/v1/keys',
        { name: 'stripe', value: 'v1-secret', provider: 'stripe-secret', tags: ['payments'] },
        session,
      )
    ).body
    expect(key).toMatchObject({
      name: 'stripe',
      currentVersion: 1,
      provider: 'stripe-secret',
      tags: ['payments'],
    })
    expect((await api.get(`/v1/keys/${key.id}/value`, reader)).body.value).toBe('v1-secret')
    const v2 = await api.put('/v1/keys/stripe/value', { value: 'v2-secret' }, session)
    expect(v2.body.currentVersion).toBe(2)
    expect((await api.get('/v1/keys/stripe/value', reader)).body).toMatchObject({
      value: 'v2-secret',
      version: 2,
    })
    expect((await api.get('/v1/keys/stripe/value?version=1', reader)).body).toMatchObject({
      value: 'v1-secret',
      version: 1,
    })
    expect((await api.get('/v1/keys/stripe/value?version=3', reader)).status).toBe(404)
    // The value route validates its own input (routes/keys.ts): the same 422 as every route.
    for (const path of [
      '/v1/keys/stripe/value?version=0',
      '/v1/keys/stripe/value?version=two',
      '/v1/keys/bad%20name/value',
    ]) {
      const refused = await api.get(path, reader)
      expect([refused.status, refused.body.code]).toEqual([422, 'validation_failed'])
      expect(refused.body.errors[0].field).toMatch(/^(version|ref)$/)
    }
    expect((await api.get('/v1/keys/stripe/value?version=0')).status).toBe(401)
    const versions = (await api.get('/v1/keys/stripe/versions', reader)).body.items
    expect(versions.map((v: { version: number }) => v.version)).toEqual([1, 2])
    expect(JSON.stringify(versions)).not.toContain('secret')

    const meta = (await api.get(`/v1/keys/${key.id}`, reader)).body
    expect(meta).toMatchObject({ id: key.id, name: 'stripe', currentVersion: 2 })
    expect(JSON.stringify(meta)).not.toContain('v2-secret')

    const patched = await api.patch(
      '/v1/keys/stripe',
      { description: 'live Stripe key', tags: ['payments', 'eu'] },
      session,
    )
    expect(patched.body).toMatchObject({ description: 'live Stripe key', tags: ['payments', 'eu'] })
    expect(
      (await api.get('/v1/keys?tag=eu', session)).body.items.map((k: { name: string }) => k.name),
    ).toEqual(['stripe'])
    expect((await api.get('/v1/keys?provider=openai', session)).body.items).toEqual([])

    expect((await api.delete('/v1/keys/stripe', session)).status).toBe(204)
    expect((await api.get('/v1/keys/stripe/value', reader)).status).toBe(404)
    expect((await api.get(`/v1/keys/${key.id}`, reader)).status).toBe(404)
    const left = await stack.table.doc.send(new ScanCommand({ TableName: stack.table.tableName }))
    // Only the audit trail (its own partition) and the outbox events that report the version
    // and the deletion (ids and names, kept 30 days for webhooks) still name the key.
    const remaining = (left.Items ?? []).filter(
      (i) => !String(i.pk).startsWith('AUDIT#') && !String(i.sk).startsWith('EVENT#'),
    )
    expect(remaining.filter((i) => JSON.stringify(i).includes(key.id))).toEqual([])
  })

  it('keeps names unique per tenant, and lets two tenants use the same name', async () => {
    const a = await owner()
    const b = await owner()
    expect((await api.post('/v1/keys', { name: 'openai', value: 'a' }, a.session)).status).toBe(201)
    const again = await api.post('/v1/keys', { name: 'openai', value: 'b' }, a.session)
    expect([again.status, again.body.code]).toEqual([409, 'conflict'])
    expect((await api.post('/v1/keys', { name: 'openai', value: 'b' }, b.session)).status).toBe(201)
    expect((await api.get('/v1/keys/openai/value', a.reader)).body.value).toBe('a')
    expect((await api.get('/v1/keys/openai/value', b.reader)).body.value).toBe('b')
  })

  it('paginates keys by name', async () => {
    const { session } = await owner()
    for (const name of ['e', 'a', 'd', 'b', 'c'])
      await api.post('/v1/keys', { name, value: name }, session)
    const names: string[] = []
    let cursor: string | null = null
    do {
      const page: { body: { items: { name: string }[]; nextCursor: string | null } } =
        await api.get(`/v1/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`, session)
      names.push(...page.body.items.map((k) => k.name))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('refuses hostile input with problem+json and changes nothing', async () => {
    const { session } = await owner()
    await api.post('/v1/keys', { name: 'keep', value: 'original' }, session)
    for (const [body, status] of [
      ['{"name":"x","value":', 400],
      [{ name: 'bad name!', value: 'v' }, 422],
      [{ name: 'x'.repeat(129), value: 'v' }, 422],
      [{ name: 'x', value: 42 }, 422],
      [{ name: 'x', value: 'v', extra: true }, 422],
      [{ name: 'x', value: 'v', provider: 'nope' }, 422],
      [{ name: 'key_01aaaaaaaaaaaaaaaaaaaaaaaa', value: 'v' }, 422],
    ] as const) {
      const res = await api.post('/v1/keys', body, session)
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
    expect((await api.put('/v1/keys/keep/value', { value: '' }, session)).status).toBe(422)
    expect((await api.patch('/v1/keys/keep', { name: 'renamed' }, session)).status).toBe(422)
    const keys = (await api.get('/v1/keys', session)).body.items
    expect(
      keys.map((k: { name: string; currentVersion: number }) => [k.name, k.currentVersion]),
    ).toEqual([['keep', 1]])
  })
})

describe('access control', () => {
  it('needs the right scope for each operation', async () => {
    const { session, mint } = await owner()
    await api.post('/v1/keys', { name: 'k', value: 'v' }, session)
    const listOnly = await mint({ scopes: ['keys:list'] })
    const readOnly = await mint({ scopes: ['keys:read'] })
    const denied = await api.get('/v1/keys/k/value', listOnly)
    expect([denied.status, denied.body.code, denied.body.requiredScope]).toEqual([
      403,
      'insufficient_scope',
      'keys:read',
    ])
    expect((await api.get('/v1/keys', readOnly)).status).toBe(403)
    expect((await api.post('/v1/keys', { name: 'n', value: 'v' }, readOnly)).status).toBe(403)
    expect((await api.put('/v1/keys/k/value', { value: 'v2' }, readOnly)).status).toBe(403)
    expect((await api.delete('/v1/keys/k', listOnly)).status).toBe(403)
    expect((await api.get('/v1/keys/k/value', readOnly)).status).toBe(200)
  })

  it('limits a restricted token to its keys: hidden from lists, others answered like missing ones', async () => {
    const { session, mint } = await owner()
    for (const name of ['openai-prod', 'openai-dev', 'stripe'])
      await api.post('/v1/keys', { name, value: `${name}-v` }, session)
    const token = await mint({ scopes: ['keys:read', 'keys:list'], keys: ['openai-*'] })
    expect((await api.get('/v1/keys/openai-dev/value', token)).body.value).toBe('openai-dev-v')
    // An existing key outside the restriction and a missing one answer alike: the restriction
    // does not tell which names exist.
    const other = await api.get('/v1/keys/stripe/value', token)
    const missing = await api.get('/v1/keys/nope/value', token)
    expect([other.status, other.body.code]).toEqual([404, 'not_found'])
    expect({ ...other.body, requestId: null, traceId: null }).toEqual({
      ...missing.body,
      requestId: null,
      traceId: null,
    })
    const described = await api.get('/v1/keys/stripe', token)
    const describedMissing = await api.get('/v1/keys/nope', token)
    expect(described.status).toBe(404)
    expect({ ...described.body, requestId: null, traceId: null }).toEqual({
      ...describedMissing.body,
      requestId: null,
      traceId: null,
    })
    const names = (await api.get('/v1/keys', token)).body.items.map((k: { name: string }) => k.name)
    expect(names).toEqual(['openai-dev', 'openai-prod'])
  })

  it('answers another tenant’s keys exactly like missing ones, on every route', async () => {
    const a = await owner()
    const b = await owner()
    const key = (
      await api.post('/v1/keys', { name: 'private', value: 'tenant-a-secret' }, a.session)
    ).body
    const bToken = await b.mint({ scopes: ['keys:read', 'keys:list', 'keys:write'] })
    for (const ref of [key.id, 'private']) {
      for (const [method, path, body] of [
        ['get', `/v1/keys/${ref}`],
        ['get', `/v1/keys/${ref}/value`],
        ['get', `/v1/keys/${ref}/versions`],
        ['put', `/v1/keys/${ref}/value`, { value: 'overwrite' }],
        ['patch', `/v1/keys/${ref}`, { description: 'pwned' }],
        ['delete', `/v1/keys/${ref}`],
      ] as const) {
        const res = await (body
          ? api[method as 'put'](path, body, bToken)
          : api[method as 'get'](path, bToken))
        expect([method, path, res.status, res.body.code]).toEqual([method, path, 404, 'not_found'])
      }
    }
    const intact = await api.get('/v1/keys/private/value', a.reader)
    expect(intact.body).toMatchObject({ value: 'tenant-a-secret', version: 1 })
    expect((await api.get('/v1/keys/private', a.reader)).body.description).toBeNull()
  })
})

describe('concurrency', () => {
  it('gives concurrent writers consecutive versions with no gaps and no duplicates', async () => {
    const { session, reader } = await owner()
    await api.post('/v1/keys', { name: 'busy', value: 'v1' }, session)
    const writers = [stack.app, stack.another(), stack.another()].map((app) => client(app))
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        writers[i % 3]?.put('/v1/keys/busy/value', { value: `w${i}` }, session),
      ),
    )
    expect(results.map((r) => r?.status)).toEqual(Array(12).fill(200))
    const numbers = results.map((r) => r?.body.currentVersion).sort((x, y) => x - y)
    expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 2))
    const versions = (await api.get('/v1/keys/busy/versions', reader)).body.items.map(
      (v: { version: number }) => v.version,
    )
    expect(versions).toEqual(Array.from({ length: 13 }, (_, i) => i + 1))
    // Every version opens to the value its writer sent.
    const values = new Set<string>()
    for (let v = 2; v <= 13; v++)
      values.add((await api.get(`/v1/keys/busy/value?version=${v}`, reader)).body.value)
    expect(values).toEqual(new Set(Array.from({ length: 12 }, (_, i) => `w${i}`)))
  })
})

describe('ciphertext binding', () => {
  const sealedOf = async (tenantId: string, sk: string) => {
    const items =
      (await stack.table.doc.send(new ScanCommand({ TableName: stack.table.tableName }))).Items ??
      []
    const item = items.find((i) => i.pk === `ORG#${tenantId}` && i.sk === sk)
    if (!item) throw new Error(`no item ${sk}`)
    return item
  }
  const overwrite = async (item: Record<string, unknown>) =>
    stack.table.doc.send(new PutCommand({ TableName: stack.table.tableName, Item: item }))

  it('fails, opaquely, to open a ciphertext moved to another key, version or tenant', async () => {
    const a = await owner()
    const b = await owner()
    const x = (await api.post('/v1/keys', { name: 'x', value: 'value-of-x' }, a.session)).body
    const y = (await api.post('/v1/keys', { name: 'y', value: 'value-of-y' }, a.session)).body
    await api.put('/v1/keys/y/value', { value: 'value-of-y2' }, a.session)
    const z = (await api.post('/v1/keys', { name: 'z', value: 'value-of-z' }, b.session)).body
    const xItem = await sealedOf(a.tenantId, `KEY#${x.id}`)

    // x's sealed value copied onto y (both of y's items, as current version 2).
    for (const sk of [`KEY#${y.id}`, 'KEYNAME#y']) {
      const item = await sealedOf(a.tenantId, sk)
      await overwrite({
        ...item,
        current: {
          ...(item.current as object),
          sealed: (xItem.current as { sealed: unknown }).sealed,
        },
      })
    }
    // y's version 2 copied onto y's version 1.
    const y2 = await sealedOf(a.tenantId, `KEYVER#${y.id}#000000002`)
    const y1 = await sealedOf(a.tenantId, `KEYVER#${y.id}#000000001`)
    await overwrite({ ...y1, sealed: y2.sealed })
    // x's sealed value copied into tenant b's key z.
    for (const sk of [`KEY#${z.id}`, 'KEYNAME#z']) {
      const item = await sealedOf(b.tenantId, sk)
      await overwrite({
        ...item,
        current: {
          ...(item.current as object),
          sealed: (xItem.current as { sealed: unknown }).sealed,
        },
      })
    }

    const fresh = client(stack.another({ KEYSTASH_RECORD_CACHE_MS: '0' }))
    const failures = [
      await fresh.get('/v1/keys/y/value', a.reader),
      await fresh.get('/v1/keys/y/value?version=1', a.reader),
      await fresh.get('/v1/keys/z/value', b.reader),
    ]
    for (const res of failures) {
      expect([res.status, res.body.code]).toEqual([500, 'decryption_failed'])
      expect(res.body.detail).toBe(failures[0]?.body.detail)
      // Request and trace ids are random hex, which can spell "aad"; the rest could leak.
      const { requestId: _, traceId: _trace, ...said } = res.body
      expect(JSON.stringify(said)).not.toMatch(/value-of|AAD|tag|auth/i)
    }
    expect((await fresh.get('/v1/keys/x/value', a.reader)).body.value).toBe('value-of-x')
  })
})
