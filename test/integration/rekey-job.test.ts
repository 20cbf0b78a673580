import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedKeys, tenantItems } from '../support/seed-keys.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// Time as the servers see it: moved forward to let a dead instance's job lease run out.
const clock = { offset: 0, now: () => Date.now() + clock.offset }

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({
    clock,
    env: { KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_REENCRYPT_RATE: '2000' },
  })
  api = client(stack.app)
})
afterAll(() => stack?.close())

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')

async function tenantWithKeys(count: number) {
  const account = await signup(api)
  return { ...account, names: await seedKeys(stack, account.tenantId, count) }
}

/** Each key version's sealed record, by `KEYVER#` sort key. */
async function sealedVersions(tenantId: string) {
  const items = await tenantItems(stack, tenantId, 'KEYVER#')
  return new Map(items.map((i) => [i.sk as string, i]))
}

/** The plaintext data key of a stored record, unwrapped through its KEK. */
async function dataKeyOf(tenantId: string, item: Record<string, any>) {
  const provider = await stack.deps.keks.forRecord(tenantId, item.sealed.kek)
  const dek = await provider.unwrapDataKey(item.sealed.wrappedDek, {
    tenantId,
    keyId: item.keyId,
  })
  return b64(dek)
}

/** Every binary attribute anywhere in the table, base64: where an old wrapped key could hide. */
async function everyBinaryInTable(): Promise<Set<string>> {
  const found = new Set<string>()
  const walk = (value: unknown) => {
    if (value instanceof Uint8Array) found.add(b64(value))
    else if (Array.isArray(value)) value.forEach(walk)
    else if (value && typeof value === 'object') Object.values(value).forEach(walk)
  }
  let startKey: Record<string, unknown> | undefined
  do {
    const page = await stack.table.doc.send(
      new ScanCommand({ TableName: stack.table.tableName, ExclusiveStartKey: startKey }),
    )
    for (const item of page.Items ?? []) walk(item)
    startKey = page.LastEvaluatedKey
  } while (startKey)
  return found
}

/** Runs `task` over `items`, `width` at a time. */
async function inBatches<T>(items: T[], task: (item: T) => Promise<void>, width = 25) {
  for (let i = 0; i < items.length; i += width)
    await Promise.all(items.slice(i, i + width).map(task))
}

async function waitFor(condition: () => boolean) {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe('a forced re-key', () => {
  it('over 1,000 keys, killed at a random point, resumes elsewhere and leaves no old data key', async () => {
    const { session, tenantId, names } = await tenantWithKeys(1000)
    const before = await sealedVersions(tenantId)
    expect(before.size).toBe(1000)
    const oldKeys = new Map<string, string>()
    await inBatches([...before], async ([sk, item]) => {
      oldKeys.set(sk, await dataKeyOf(tenantId, item))
    })
    const oldWrapped = new Set([...before.values()].map((i) => b64(i.sealed.wrappedDek)))

    stack.kms.calls.reset()
    const resealed = () => stack.kms.calls.count({ operation: 'GenerateDataKey', outcome: 'ok' })
    const forced = await api.post('/v1/org/encryption/rekey', {}, session)
    expect(forced.status).toBe(202)
    expect(forced.body).toMatchObject({ kind: 'rekey', status: 'pending' })
    const jobId = forced.body.id as string

    // Killed somewhere between the first record and the last page, as if it crashed.
    const killAt = 1 + Math.floor(Math.random() * 950)
    await waitFor(() => resealed() >= killAt)
    await stack.deps.reencryption.stop()
    const byFirst = resealed()
    expect(byFirst).toBeLessThan(1000)

    // A second instance takes the job over once the dead one's lease has run out.
    const second = stack.anotherInstance()
    clock.offset += 31_000
    await second.deps.reencryption.resume()
    const job = (await api.get(`/v1/org/encryption/jobs/${jobId}`, session)).body
    expect(job).toMatchObject({
      kind: 'rekey',
      status: 'finished',
      total: 1000,
      done: 1000,
      failed: 0,
    })
    // Nothing re-sealed twice: one new data key per version, however the work was split.
    expect(resealed()).toBe(1000)

    const after = await sealedVersions(tenantId)
    expect(after.size).toBe(1000)
    await inBatches([...after], async ([sk, item]) => {
      const previous = before.get(sk)
      expect(item.recordVersion).toBe(2)
      expect(item.sealedAt >= job.createdAt).toBe(true)
      // Same key, same version, same AAD rules: only the data key, IV and ciphertext changed.
      expect(item.sealed.kek).toEqual(previous?.sealed.kek)
      expect(b64(item.sealed.iv)).not.toBe(b64(previous?.sealed.iv))
      expect(await dataKeyOf(tenantId, item)).not.toBe(oldKeys.get(sk))
    })
    const stored = await everyBinaryInTable()
    expect([...oldWrapped].filter((w) => stored.has(w))).toEqual([])

    const secondApi = client(second.app)
    second.deps.dekCache.clear()
    await inBatches(names, async (name) => {
      const read = await secondApi.get(`/v1/keys/${name}/value`, session)
      expect(read.body.value).toBe(`value-of-${name}`)
    })
  }, 600_000)

  it('lets readers and writers go on with no error, and a running re-key refuses another', async () => {
    const { session, tenantId, names } = await tenantWithKeys(30)
    const readOnly = names.slice(0, 20)
    const written = names.slice(20)
    const forced = await api.post('/v1/org/encryption/rekey', {}, session)
    expect(forced.status).toBe(202)
    const again = await api.post('/v1/org/encryption/rekey', {}, session)
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ code: 'conflict', jobId: forced.body.id })

    let running = true
    const settled = stack.deps.reencryption.idle().then(() => {
      running = false
    })
    const errors: string[] = []
    let reads = 0
    const reader = async () => {
      for (let i = 0; running; i++) {
        const name = readOnly[i % readOnly.length] ?? ''
        const res = await api.get(`/v1/keys/${name}/value`, session)
        if (res.status !== 200 || res.body.value !== `value-of-${name}`)
          errors.push(JSON.stringify(res.body))
        reads++
      }
    }
    const writer = async () => {
      for (let i = 0; running; i++) {
        const name = written[i % written.length] ?? ''
        const res = await api.put(`/v1/keys/${name}/value`, { value: `written-${i}` }, session)
        if (res.status !== 200) errors.push(JSON.stringify(res.body))
      }
    }
    await Promise.all([reader(), reader(), writer(), settled])
    expect(errors).toEqual([])
    expect(reads).toBeGreaterThan(0)

    const view = (await api.get('/v1/org/encryption', session)).body
    expect(view.rekey.job).toMatchObject({ id: forced.body.id, status: 'finished', failed: 0 })
    expect(view.rekey.lastRekeyAt).toBe(forced.body.createdAt)
    // The forced re-key began a new period.
    expect(Date.parse(view.rekey.nextDueAt) - Date.parse(forced.body.createdAt)).toBe(
      365 * 86_400_000,
    )
    for (const item of (await sealedVersions(tenantId)).values()) {
      expect((item.sealedAt ?? item.createdAt) >= forced.body.createdAt).toBe(true)
    }
    for (const name of readOnly) {
      expect((await api.get(`/v1/keys/${name}/value`, session)).body.value).toBe(`value-of-${name}`)
    }
  }, 120_000)

  it('is for owners and admins only, and records who asked in the audit trail', async () => {
    const { session, tenantId } = await tenantWithKeys(1)
    const token = (
      await api.post(
        '/v1/tokens',
        { name: 'reader', scopes: ['keys:read'], expiresIn: 600, environment: 'production' },
        session,
      )
    ).body.token as string
    expect((await api.post('/v1/org/encryption/rekey', {}, token)).status).toBe(403)
    expect((await api.put('/v1/org/encryption/rekey', { periodDays: 30 }, token)).status).toBe(403)
    expect((await api.put('/v1/org/encryption/rekey', { periodDays: -1 }, session)).status).toBe(
      422,
    )
    const set = await api.put('/v1/org/encryption/rekey', { periodDays: 30 }, session)
    expect(set.status).toBe(200)
    expect(set.body.periodDays).toBe(30)
    const forced = await api.post('/v1/org/encryption/rekey', {}, session)
    expect(forced.status).toBe(202)
    await stack.deps.reencryption.idle()
    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=encryption.rekey.request', session)).body
    expect(events.items.map((e: any) => e.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ periodDays: 30 }),
        expect.objectContaining({ trigger: 'forced', jobId: forced.body.id }),
      ]),
    )
    const finished = (await api.get('/v1/audit?action=encryption.rekey.finish', session)).body
    expect(finished.items[0]).toMatchObject({ tenantId, target: { id: forced.body.id } })
  }, 60_000)
})
