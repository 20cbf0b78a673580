import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createDekCache, type DekCacheOptions } from '../../src/crypto/dek-cache.ts'
import { AppError } from '../../src/errors.ts'

/** A fake clock and a fake KMS whose unwraps are counted and remembered. */
function setup(options: Partial<DekCacheOptions> = {}) {
  let nowMs = 0
  const cache = createDekCache({ ttlSeconds: 300, maxEntries: 100, now: () => nowMs, ...options })
  const loaded: Buffer[] = []
  let unwraps = 0
  const unwrapFor = (material: Buffer) => async () => {
    unwraps++
    const dek = Buffer.from(material)
    loaded.push(dek)
    return dek
  }
  const get = (tenantId: string, wrapped: Buffer, material: Buffer, ttlSeconds?: number) =>
    cache.getDek({ tenantId, wrapped, ttlSeconds }, unwrapFor(material))
  return {
    cache,
    get,
    loaded,
    unwraps: () => unwraps,
    advance: (seconds: number) => {
      nowMs += seconds * 1000
    },
  }
}

const wrappedA = Buffer.from('wrapped-dek-a')
const wrappedB = Buffer.from('wrapped-dek-b')
const wrappedC = Buffer.from('wrapped-dek-c')
const dekA = randomBytes(32)
const dekB = randomBytes(32)
const dekC = randomBytes(32)
const isZero = (buffer: Buffer) => buffer.every((byte) => byte === 0)

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('createDekCache', () => {
  it('rejects bad options when created', () => {
    expect(() => createDekCache({ ttlSeconds: 3601, maxEntries: 10 })).toThrow(RangeError)
    expect(() => createDekCache({ ttlSeconds: -1, maxEntries: 10 })).toThrow(RangeError)
    expect(() => createDekCache({ ttlSeconds: 60, maxEntries: 0 })).toThrow(RangeError)
  })

  it('serves warm reads without unwrapping, as copies the caller may zero', async () => {
    const t = setup()
    const first = await t.get('org_a', wrappedA, dekA)
    first.fill(0)
    const second = await t.get('org_a', wrappedA, dekA)
    expect(second.equals(dekA)).toBe(true)
    expect(second).not.toBe(first)
    expect(t.unwraps()).toBe(1)
    expect(t.cache.stats()).toEqual({
      hits: 1,
      misses: 1,
      kmsCalls: 1,
      evictions: 0,
      expirations: 0,
      size: 1,
    })
  })

  it('answers a held DEK at once (no promise): a copy, counted as a hit, never an unwrap', async () => {
    const t = setup()
    const first = t.get('org_a', wrappedA, dekA)
    expect(first).toBeInstanceOf(Promise)
    await first
    const held = t.get('org_a', wrappedA, dekA)
    expect(held).not.toBeInstanceOf(Promise)
    expect((held as Buffer).equals(dekA)).toBe(true)
    ;(held as Buffer).fill(0)
    expect((t.get('org_a', wrappedA, dekA) as Buffer).equals(dekA)).toBe(true)
    expect([t.unwraps(), t.cache.stats().hits]).toEqual([1, 2])
    // Another tenant's lookup of the same wrapped DEK, a tenant's lower TTL, and expiry: each
    // has to wait for an unwrap.
    const other = t.get('org_b', wrappedA, dekA)
    expect(other).toBeInstanceOf(Promise)
    await other
    t.advance(61)
    const lower = t.get('org_a', wrappedA, dekA, 60)
    expect(lower).toBeInstanceOf(Promise)
    await lower
    t.advance(300)
    const expired = t.get('org_a', wrappedA, dekA)
    expect(expired).toBeInstanceOf(Promise)
    await expired
    expect(t.unwraps()).toBe(4)
  })

  it('makes exactly one unwrap for concurrent misses of one DEK', async () => {
    const t = setup()
    const gate = deferred<Buffer>()
    let calls = 0
    const unwrap = () => {
      calls++
      return gate.promise
    }
    const waiting = Array.from({ length: 100 }, () =>
      t.cache.getDek({ tenantId: 'org_a', wrapped: wrappedA }, unwrap),
    )
    const cached = Buffer.from(dekA)
    gate.resolve(cached)
    const results = await Promise.all(waiting)
    expect(calls).toBe(1)
    expect(results.every((dek) => dek.equals(dekA) && dek !== cached)).toBe(true)
    expect(new Set(results).size).toBe(100)
    expect(t.cache.stats()).toMatchObject({ misses: 100, kmsCalls: 1, size: 1 })
  })

  it('does not cache a failed unwrap, and gives every waiter the error', async () => {
    const t = setup()
    const gate = deferred<Buffer>()
    const unwrap = () => gate.promise
    const waiting = Array.from({ length: 5 }, () =>
      Promise.resolve(t.cache.getDek({ tenantId: 'org_a', wrapped: wrappedA }, unwrap)).catch(
        (e: unknown) => e,
      ),
    )
    const error = new AppError('kms_unavailable')
    gate.reject(error)
    for (const outcome of await Promise.all(waiting)) expect(outcome).toBe(error)
    expect(t.cache.stats()).toMatchObject({ size: 0, kmsCalls: 1 })

    expect((await t.get('org_a', wrappedA, dekA)).equals(dekA)).toBe(true)
    expect(t.unwraps()).toBe(1)
    expect(t.cache.stats()).toMatchObject({ size: 1, kmsCalls: 2 })
  })

  it('expires entries after the TTL and zeroes them', async () => {
    const t = setup({ ttlSeconds: 60 })
    await t.get('org_a', wrappedA, dekA)
    t.advance(59.999)
    await t.get('org_a', wrappedA, dekA)
    expect(t.unwraps()).toBe(1)
    t.advance(0.001)
    expect((await t.get('org_a', wrappedA, dekA)).equals(dekA)).toBe(true)
    expect(t.unwraps()).toBe(2)
    expect(isZero(t.loaded[0] as Buffer)).toBe(true)
    expect(isZero(t.loaded[1] as Buffer)).toBe(false)
    expect(t.cache.stats()).toMatchObject({ expirations: 1, size: 1 })
  })

  it('sweeps expired entries nobody asks for again', async () => {
    const t = setup({ ttlSeconds: 10 })
    await t.get('org_a', wrappedA, dekA)
    t.advance(10)
    await t.get('org_b', wrappedB, dekB) // a miss sweeps
    expect(isZero(t.loaded[0] as Buffer)).toBe(true)
    expect(t.cache.stats()).toMatchObject({ expirations: 1, size: 1 })
  })

  it('unwraps on every call when the TTL is 0', async () => {
    const t = setup({ ttlSeconds: 0 })
    await Promise.all([t.get('org_a', wrappedA, dekA), t.get('org_a', wrappedA, dekA)])
    await t.get('org_a', wrappedA, dekA)
    expect(t.unwraps()).toBe(3)
    expect(t.cache.stats()).toMatchObject({ hits: 0, misses: 3, kmsCalls: 3, size: 0 })
  })

  it('lets a tenant lower its TTL but never raise it', async () => {
    const t = setup({ ttlSeconds: 60 })
    await t.get('org_a', wrappedA, dekA, 10)
    t.advance(10)
    await t.get('org_a', wrappedA, dekA, 10)
    expect(t.unwraps()).toBe(2)

    await t.get('org_b', wrappedB, dekB, 3600)
    t.advance(60)
    await t.get('org_b', wrappedB, dekB, 3600)
    expect(t.unwraps()).toBe(4)

    await t.get('org_c', wrappedC, dekC, 0)
    await t.get('org_c', wrappedC, dekC, 0)
    expect(t.unwraps()).toBe(6)
  })

  it('evicts the least recently used entry beyond the bound and zeroes it', async () => {
    const t = setup({ maxEntries: 2 })
    await t.get('org_a', wrappedA, dekA)
    await t.get('org_a', wrappedB, dekB)
    await t.get('org_a', wrappedA, dekA) // A is now the most recently used
    await t.get('org_a', wrappedC, dekC)
    expect(t.cache.stats()).toMatchObject({ evictions: 1, size: 2 })
    const [cachedA, cachedB, cachedC] = t.loaded as [Buffer, Buffer, Buffer]
    expect(isZero(cachedB)).toBe(true)
    expect(cachedA.equals(dekA) && cachedC.equals(dekC)).toBe(true)

    await t.get('org_a', wrappedA, dekA)
    await t.get('org_a', wrappedC, dekC)
    expect(t.unwraps()).toBe(3)
    await t.get('org_a', wrappedB, dekB)
    expect(t.unwraps()).toBe(4)
  })

  it('never shares an entry between tenants, even for the same wrapped DEK', async () => {
    const t = setup()
    await t.get('org_a', wrappedA, dekA)
    const other = await t.get('org_b', wrappedA, dekB)
    expect(other.equals(dekB)).toBe(true)
    expect(t.unwraps()).toBe(2)
  })

  it("evicts one tenant's entries and nobody else's", async () => {
    const t = setup()
    await t.get('org_a', wrappedA, dekA)
    await t.get('org_a', wrappedB, dekB)
    await t.get('org_b', wrappedC, dekC)
    expect(t.cache.evictTenant('org_a')).toBe(2)
    expect(t.cache.stats().size).toBe(1)
    expect(t.loaded.map(isZero)).toEqual([true, true, false])
    await t.get('org_b', wrappedC, dekC)
    expect(t.unwraps()).toBe(3)
    await t.get('org_a', wrappedA, dekA)
    expect(t.unwraps()).toBe(4)
  })

  it('does not cache an unwrap that was in flight when its tenant was evicted', async () => {
    const t = setup()
    const gate = deferred<Buffer>()
    const pending = t.cache.getDek({ tenantId: 'org_a', wrapped: wrappedA }, () => gate.promise)
    t.cache.evictTenant('org_a')
    const unwrapped = Buffer.from(dekA)
    gate.resolve(unwrapped)
    expect((await pending).equals(dekA)).toBe(true)
    expect(t.cache.stats().size).toBe(0)
    expect(isZero(unwrapped)).toBe(true)
  })

  it('clear() empties the cache', async () => {
    const t = setup()
    await t.get('org_a', wrappedA, dekA)
    await t.get('org_b', wrappedB, dekB)
    t.cache.clear()
    expect(t.cache.stats().size).toBe(0)
    expect(t.loaded.every(isZero)).toBe(true)
    await t.get('org_a', wrappedA, dekA)
    expect(t.unwraps()).toBe(3)
  })
})
