import type { KMSClient } from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  byokPolicy,
  createTenantKey,
  keyIdOf,
  rawMaterial,
  settledJob,
  tenantKms,
  versionItems,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
let tenant: KMSClient
beforeAll(async () => {
  stack = await startStack({
    env: { KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_REENCRYPT_RATE: '1000' },
  })
  api = client(stack.app)
  tenant = tenantKms(stack.kms)
})
afterAll(() => stack?.close())

const sealedOf = (items: Array<Record<string, any>>) =>
  new Map(
    items
      .filter((i) => String(i.sk).startsWith('KEYVER#'))
      .map((i) => [i.sk as string, i.sealed as Record<string, any>]),
  )

describe('switching KEKs: platform -> aws-kms -> raw -> aws-kms', () => {
  it('keeps every value readable, moves every data key, and never calls a retired KEK', async () => {
    const { session, tenantId } = await signup(api)
    const values = new Map<string, string>()
    const write = async (name: string, value: string) => {
      const res = values.has(name)
        ? await api.put(`/v1/keys/${name}/value`, { value }, session)
        : await api.post('/v1/keys', { name, value }, session)
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300)
      values.set(name, value)
    }
    const readAll = async () => {
      stack.deps.dekCache.clear()
      for (const [name, value] of values) {
        const res = await api.get(`/v1/keys/${name}/value`, session)
        expect(res.status, JSON.stringify(res.body)).toBe(200)
        expect(res.body.value).toBe(value)
      }
    }
    const configure = async (body: object) => {
      const res = await api.put('/v1/org/encryption', body, session)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      await readAll()
      return res.body
    }

    const start = (await api.get('/v1/org/encryption', session)).body
    expect(start).toMatchObject({ provider: 'platform', kekVersion: 1, keyId: null, job: null })
    await write('first', 'platform-era')
    await write('shared', 'shared-v1')

    const firstKey = await createTenantKey(tenant, byokPolicy(tenantId))
    const v2 = await configure({ provider: 'aws-kms', keyArn: firstKey })
    expect(v2).toMatchObject({ provider: 'aws-kms', kekVersion: 2, keyId: firstKey })
    await write('second', 'first-kms-era')
    const before = sealedOf(await versionItems(stack, tenantId))
    expect((await settledJob(stack, api, session)).status).toBe('finished')
    await readAll()

    // Moving a data key changes its wrapping only: IV and ciphertext stay byte for byte.
    const items = await versionItems(stack, tenantId)
    const after = sealedOf(items)
    for (const [sk, sealed] of after) {
      expect(sealed.kek).toMatchObject({ provider: 'aws-kms', version: 2, keyId: firstKey })
      const old = before.get(sk)
      expect(Buffer.from(sealed.iv)).toEqual(Buffer.from(old?.iv))
      expect(Buffer.from(sealed.ct)).toEqual(Buffer.from(old?.ct))
      if (old?.kek.version === 1)
        expect(Buffer.from(sealed.wrappedDek)).not.toEqual(Buffer.from(old.wrappedDek))
    }
    // The key items carry the current version's copy, moved together with it.
    for (const item of items.filter((i) => /^KEY(NAME)?#/.test(i.sk))) {
      const version = after.get(
        `KEYVER#${item.keyId}#${String(item.currentVersion).padStart(9, '0')}`,
      )
      expect(Buffer.from(item.current.sealed.wrappedDek)).toEqual(Buffer.from(version?.wrappedDek))
      expect(item.current.sealed.kek).toEqual(version?.kek)
    }

    await configure({ provider: 'raw', material: rawMaterial() })
    await write('third', 'raw-era')
    await write('shared', 'shared-v2')
    expect((await settledJob(stack, api, session)).status).toBe('finished')
    const raw = (await api.get('/v1/org/encryption', session)).body
    expect(raw).toMatchObject({ provider: 'raw', kekVersion: 3 })
    expect(raw.keyId).toMatch(/^raw-[0-9a-f]{16}$/)
    expect(raw.versions.map((v: { status: string }) => v.status)).toEqual([
      'retired',
      'retired',
      'active',
    ])

    // The first KMS key is retired: nothing reaches it any more, reads included.
    stack.kms.calls.reset()
    await readAll()
    await write('fourth', 'still-raw')
    expect(stack.kms.calls.count({ keyId: keyIdOf(firstKey) })).toBe(0)

    const secondKey = await createTenantKey(tenant, byokPolicy(tenantId))
    await configure({ provider: 'aws-kms', keyArn: secondKey })
    await write('fifth', 'second-kms-era')
    expect((await settledJob(stack, api, session)).status).toBe('finished')
    stack.kms.calls.reset()
    await readAll()
    expect(stack.kms.calls.count({ keyId: keyIdOf(firstKey) })).toBe(0)
    expect(stack.kms.calls.count({ keyId: keyIdOf(secondKey), operation: 'Decrypt' })).toBe(
      // One per version read: the current version of each key, all under the second key.
      values.size,
    )
    const final = await versionItems(stack, tenantId)
    expect(
      final.filter((i) => i.sk.startsWith('KEYVER#')).every((i) => i.sealed.kek.version === 4),
    ).toBe(true)
    // The raw key's material was erased once it was retired.
    const kekItems = (await stack.deps.keks.records(tenantId, { fresh: true })).map((r) => [
      r.version,
      r.status,
      r.sealedMaterial === undefined,
    ])
    expect(kekItems).toEqual([
      [1, 'retired', true],
      [2, 'retired', true],
      [3, 'retired', true],
      [4, 'active', true],
    ])
  })
})

describe('the data-key cache TTL', () => {
  it('may only be lowered, and changing it alone adds no KEK version', async () => {
    const { session } = await signup(api)
    const server = stack.deps.config.cache.dekTtlSeconds
    const tooHigh = await api.put(
      '/v1/org/encryption',
      { provider: 'platform', dataKeyCacheTtlSeconds: server + 1 },
      session,
    )
    expect([tooHigh.status, tooHigh.body.code]).toEqual([422, 'validation_failed'])
    const lower = await api.put(
      '/v1/org/encryption',
      { provider: 'platform', dataKeyCacheTtlSeconds: 7 },
      session,
    )
    expect(lower.status).toBe(200)
    expect(lower.body).toMatchObject({
      provider: 'platform',
      kekVersion: 1,
      dataKeyCacheTtlSeconds: 7,
      serverDataKeyCacheTtlSeconds: server,
      job: null,
    })
    const back = await api.put(
      '/v1/org/encryption',
      { provider: 'platform', dataKeyCacheTtlSeconds: null },
      session,
    )
    expect(back.body.dataKeyCacheTtlSeconds).toBe(server)
  })

  it('needs org:admin', async () => {
    const { session } = await signup(api)
    const minted = await api.post(
      '/v1/tokens',
      { name: 'reader', scopes: ['keys:read'], expiresIn: 600 },
      session,
    )
    const token = minted.body.token as string
    expect((await api.get('/v1/org/encryption', token)).body.code).toBe('insufficient_scope')
    const put = await api.put('/v1/org/encryption', { provider: 'platform' }, token)
    expect(put.body.code).toBe('insufficient_scope')
  })
})
