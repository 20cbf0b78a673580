import { describe, expect, it } from 'vitest'
import { createDekCache } from '../../src/crypto/dek-cache.ts'
import { openValue, sealValue, type UnwrapDataKey, unwrapWith } from '../../src/crypto/envelope.ts'
import { type SealedRecord, valueAad } from '../../src/crypto/record.ts'
import { createValueCipher, platformOnlyResolver } from '../../src/crypto/value-cipher.ts'
import { AppError, type ErrorCode } from '../../src/errors.ts'
import { createMemoryKeyProvider } from '../../src/kms/memory.ts'

const place = { tenantId: 'org_a', keyId: 'key_1', version: 1 }

async function sealed(plaintext = Buffer.from('sk-live-abc123')) {
  const provider = createMemoryKeyProvider()
  const record = await sealValue({ provider, plaintext, ...place })
  return { provider, record, unwrap: unwrapWith(provider) }
}

/** Resolves with the error a promise rejects with; fails the test if it resolves. */
async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

let opaqueMessage: string | undefined
function expectOpaque(error: AppError) {
  expect(error.code).toBe('decryption_failed')
  opaqueMessage ??= error.message
  expect(error.message).toBe(opaqueMessage)
  expect(error.detail).toBe(opaqueMessage)
  expect(error.extra).toEqual({})
}

describe('sealValue / openValue', () => {
  it.each([
    ['an empty value', Buffer.alloc(0)],
    ['multi-byte UTF-8', Buffer.from('clé-🔑-ключ-鍵', 'utf8')],
    ['16 KiB', Buffer.from(Array.from({ length: 16 * 1024 }, (_, i) => i % 251))],
  ])('round-trips %s', async (_, plaintext) => {
    const { record, unwrap } = await sealed(Buffer.from(plaintext))
    const opened = await openValue({ record, unwrap, ...place })
    expect(opened.equals(plaintext)).toBe(true)
  })

  it('writes a self-describing record with nothing else in it', async () => {
    const secret = 'sk-live-do-not-store'
    const { provider, record } = await sealed(Buffer.from(secret))
    expect(Object.keys(record).sort()).toEqual(['alg', 'ct', 'iv', 'kek', 'v', 'wrappedDek'])
    expect(record).toMatchObject({ v: 1, alg: 'AES-256-GCM', kek: provider.kek })
    expect(record.iv).toBeInstanceOf(Uint8Array)
    expect(record.iv).toHaveLength(12)
    expect(record.ct).toHaveLength(secret.length + 16)
    expect(Buffer.from(record.ct).includes(secret)).toBe(false)
  })

  it('uses a fresh IV and data key for every seal', async () => {
    const provider = createMemoryKeyProvider()
    const plaintext = Buffer.from('same value')
    const a = await sealValue({ provider, plaintext, ...place })
    const b = await sealValue({ provider, plaintext, ...place })
    expect(Buffer.from(a.iv).equals(b.iv)).toBe(false)
    expect(Buffer.from(a.wrappedDek).equals(b.wrappedDek)).toBe(false)
    expect(provider.calls.generateDataKey).toBe(2)
  })

  it.each([
    ['another tenant', { ...place, tenantId: 'org_b' }],
    ['another key', { ...place, keyId: 'key_2' }],
    ['another version', { ...place, version: 2 }],
  ])('refuses a record moved to %s', async (_, moved) => {
    const { record, unwrap } = await sealed()
    expectOpaque(await failure(openValue({ record, unwrap, ...moved })))
  })

  it('refuses a moved record even when the unwrap ignores the context', async () => {
    // Proves the AAD alone binds the place, whatever the KEK provider does with its context.
    const { record, provider } = await sealed()
    const contextBlind: UnwrapDataKey = ({ wrapped }) => provider.unwrapDataKey(wrapped, place)
    const moved = { ...place, version: 2 }
    expectOpaque(await failure(openValue({ record, unwrap: contextBlind, ...moved })))
    await expect(openValue({ record, unwrap: contextBlind, ...place })).resolves.toBeDefined()
  })

  const flip = (bytes: Uint8Array, index: number) => {
    const copy = Uint8Array.from(bytes)
    const at = index < 0 ? copy.length + index : index
    copy[at] = (copy[at] ?? 0) ^ 0x01
    return copy
  }
  const tamperings: Array<[string, (r: SealedRecord) => unknown]> = [
    ['the IV', (r) => ({ ...r, iv: flip(r.iv, 0) })],
    ['the ciphertext', (r) => ({ ...r, ct: flip(r.ct, 0) })],
    ['the tag', (r) => ({ ...r, ct: flip(r.ct, -1) })],
    ['the wrapped data key', (r) => ({ ...r, wrappedDek: flip(r.wrappedDek, 20) })],
    ['a truncated wrapped data key', (r) => ({ ...r, wrappedDek: r.wrappedDek.subarray(1) })],
    ['the format version', (r) => ({ ...r, v: 2 })],
    ['the algorithm', (r) => ({ ...r, alg: 'AES-128-GCM' })],
    ['a short IV', (r) => ({ ...r, iv: r.iv.subarray(0, 8) })],
    ['a ciphertext shorter than a tag', (r) => ({ ...r, ct: r.ct.subarray(0, 15) })],
    ['an unknown KEK provider', (r) => ({ ...r, kek: { ...r.kek, provider: 'gcp' } })],
    ['a missing field', ({ iv: _, ...r }) => r],
    ['a string instead of bytes', (r) => ({ ...r, ct: Buffer.from(r.ct).toString('base64') })],
    ['not an object', () => 'garbage'],
    ['null', () => null],
  ]
  it.each(tamperings)('fails opaquely when %s is tampered with', async (_, tamper) => {
    const { record, unwrap } = await sealed()
    expectOpaque(await failure(openValue({ record: tamper(record), unwrap, ...place })))
  })

  it('fails opaquely when the unwrap throws something unexpected', async () => {
    const { record } = await sealed()
    const broken: UnwrapDataKey = async () => {
      throw new TypeError('bug in a provider: KEK arn:aws:kms:eu-west-1:1:key/x')
    }
    const error = await failure(openValue({ record, unwrap: broken, ...place }))
    expectOpaque(error)
    expect(error.message).not.toContain('arn:')
  })

  it('fails opaquely when the unwrap returns a key of the wrong length', async () => {
    const { record } = await sealed()
    const short: UnwrapDataKey = async () => Buffer.alloc(16, 7)
    expectOpaque(await failure(openValue({ record, unwrap: short, ...place })))
  })

  it.each<ErrorCode>([
    'kek_disabled',
    'kek_access_denied',
    'kek_pending_deletion',
    'kek_not_found',
    'kms_throttled',
    'kms_unavailable',
  ])('passes %s from the unwrap through unchanged', async (code) => {
    const { record, provider, unwrap } = await sealed()
    provider.failWith(code)
    const error = await failure(openValue({ record, unwrap, ...place }))
    expect(error.code).toBe(code)
    expect(error.message).toContain(code)
  })

  it('passes KMS errors from sealing through', async () => {
    const provider = createMemoryKeyProvider()
    provider.failWith('kek_disabled')
    const error = await failure(sealValue({ provider, plaintext: Buffer.from('x'), ...place }))
    expect(error.code).toBe('kek_disabled')
  })

  it('zeroes the data key after sealing and after opening', async () => {
    const provider = createMemoryKeyProvider()
    const generated: Buffer[] = []
    const spying = {
      generateDataKey: async (context: Parameters<typeof provider.generateDataKey>[0]) => {
        const key = await provider.generateDataKey(context)
        generated.push(key.plaintext)
        return key
      },
    }
    const record = await sealValue({ provider: spying, plaintext: Buffer.from('v'), ...place })
    const unwrapped: Buffer[] = []
    const unwrap: UnwrapDataKey = async (request) => {
      const dek = await unwrapWith(provider)(request)
      unwrapped.push(dek)
      return dek
    }
    await openValue({ record, unwrap, ...place })
    for (const dek of [...generated, ...unwrapped]) {
      expect(dek).toHaveLength(32)
      expect(dek.every((byte) => byte === 0)).toBe(true)
    }
  })

  it('never puts the plaintext into an error', async () => {
    const secret = 'sk-live-never-in-an-error'
    const { record, unwrap } = await sealed(Buffer.from(secret))
    const error = await failure(openValue({ record, unwrap, ...place, tenantId: 'org_b' }))
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(
      secret,
    )
  })

  it('encodes the AAD without ambiguity', () => {
    const a = valueAad(1, { tenantId: 'ab', keyId: 'c', version: 1 })
    const b = valueAad(1, { tenantId: 'a', keyId: 'bc', version: 1 })
    const c = valueAad(1, { tenantId: 'a', keyId: 'b', version: 11 })
    const d = valueAad(1, { tenantId: 'a', keyId: 'b1', version: 1 })
    expect(new Set([a, b, c, d].map((x) => x.toString('hex'))).size).toBe(4)
  })

  it('makes one unwrap for 100 concurrent cold opens through the DEK cache, none when warm', async () => {
    const { provider, record } = await sealed(Buffer.from('hot key'))
    const cache = createDekCache({ ttlSeconds: 300, maxEntries: 100 })
    const unwrap: UnwrapDataKey = (request) =>
      cache.getDek({ tenantId: request.context.tenantId, wrapped: request.wrapped }, () =>
        provider.unwrapDataKey(request.wrapped, request.context),
      )
    const open = () => openValue({ record, unwrap, ...place })

    const cold = await Promise.all(Array.from({ length: 100 }, open))
    expect(cold.every((value) => value.toString() === 'hot key')).toBe(true)
    expect(provider.calls.unwrapDataKey).toBe(1)

    const warm = await Promise.all(Array.from({ length: 100 }, open))
    expect(warm.every((value) => value.toString() === 'hot key')).toBe(true)
    expect(provider.calls.unwrapDataKey).toBe(1)
    expect(cache.stats()).toMatchObject({ hits: 100, misses: 100, kmsCalls: 1, size: 1 })
  })
})

describe('the value cipher (AAD and data-key cache key kept per record object)', () => {
  it('opens the same record object only at the place it was sealed for, however often', async () => {
    const { provider, record } = await sealed(Buffer.from('kept'))
    const cipher = createValueCipher({
      keks: platformOnlyResolver(provider),
      dekCache: createDekCache({ ttlSeconds: 300, maxEntries: 100 }),
    })
    // Warm the per-record AAD with the right place, then ask for others with the same object.
    expect((await cipher.open(place, record)).toString()).toBe('kept')
    for (const moved of [
      { ...place, version: 2 },
      { ...place, keyId: 'key_2' },
      { ...place, tenantId: 'org_b' },
    ]) {
      // With its data key cached, a value is opened (and refused) at once, not in a promise.
      expectOpaque(await failure((async () => cipher.open(moved, record))()))
    }
    expect((await cipher.open(place, record)).toString()).toBe('kept')
  })

  it('never serves one tenant’s data key to another for the same wrapped-key buffer', async () => {
    const { record } = await sealed(Buffer.from('tenant a'))
    const dekCache = createDekCache({ ttlSeconds: 300, maxEntries: 100 })
    const unwraps: string[] = []
    const first = await dekCache.getDek(
      { tenantId: 'org_a', wrapped: record.wrappedDek },
      async () => {
        unwraps.push('org_a')
        return Buffer.alloc(32, 1)
      },
    )
    const second = await dekCache.getDek(
      { tenantId: 'org_b', wrapped: record.wrappedDek },
      async () => {
        unwraps.push('org_b')
        return Buffer.alloc(32, 2)
      },
    )
    expect(unwraps).toEqual(['org_a', 'org_b'])
    expect(first.equals(second)).toBe(false)
  })
})
