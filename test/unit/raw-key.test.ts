import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isAppError } from '../../src/errors.ts'
import { createRawKeyProvider, parseRawMaterial, rawKeyId } from '../../src/kms/raw-key.ts'

const material = randomBytes(32)
const kek = { provider: 'raw' as const, keyId: rawKeyId(material), version: 3 }
const provider = (options: { version?: number; key?: Buffer } = {}) =>
  createRawKeyProvider({
    kek: { ...kek, version: options.version ?? kek.version },
    material: async () => Buffer.from(options.key ?? material),
  })
const context = { tenantId: 'org_a', keyId: 'key_a' }

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return isAppError(error) ? error.code : `not an AppError: ${String(error)}`
  }
  return 'no error'
}

describe('a raw KEK', () => {
  it('wraps data keys that only it, for the same tenant, key and KEK version, unwraps', async () => {
    const { plaintext, wrapped, kek: ref } = await provider().generateDataKey(context)
    expect(ref).toEqual(kek)
    expect(wrapped).toHaveLength(61)
    expect((await provider().unwrapDataKey(wrapped, context)).equals(plaintext)).toBe(true)
    expect(await codeOf(provider().unwrapDataKey(wrapped, { ...context, tenantId: 'org_b' }))).toBe(
      'decryption_failed',
    )
    expect(await codeOf(provider().unwrapDataKey(wrapped, { ...context, keyId: 'key_b' }))).toBe(
      'decryption_failed',
    )
    expect(await codeOf(provider({ version: 4 }).unwrapDataKey(wrapped, context))).toBe(
      'decryption_failed',
    )
    expect(await codeOf(provider({ key: randomBytes(32) }).unwrapDataKey(wrapped, context))).toBe(
      'decryption_failed',
    )
    const tampered = Uint8Array.from(wrapped)
    tampered[20] = (tampered[20] ?? 0) ^ 1
    expect(await codeOf(provider().unwrapDataKey(tampered, context))).toBe('decryption_failed')
    expect(await codeOf(provider().unwrapDataKey(wrapped.subarray(1), context))).toBe(
      'decryption_failed',
    )
  })

  it('wraps an existing data key (re-wrapping) so that it unwraps to the same bytes', async () => {
    const dek = randomBytes(32)
    const wrapped = await provider().wrapDataKey(dek, context)
    expect((await provider().unwrapDataKey(wrapped, context)).equals(dek)).toBe(true)
  })

  it('zeroes the material it was handed after each use', async () => {
    const handed: Buffer[] = []
    const p = createRawKeyProvider({
      kek,
      material: async () => {
        const copy = Buffer.from(material)
        handed.push(copy)
        return copy
      },
    })
    const { wrapped } = await p.generateDataKey(context)
    await p.unwrapDataKey(wrapped, context)
    expect(handed).toHaveLength(2)
    for (const buffer of handed) expect(buffer.every((b) => b === 0)).toBe(true)
  })
})

describe('raw key material', () => {
  it('accepts 32 random bytes in standard base64, and names them without revealing them', () => {
    const text = material.toString('base64')
    expect(parseRawMaterial(text).equals(material)).toBe(true)
    expect(rawKeyId(material)).toMatch(/^raw-[0-9a-f]{16}$/)
    expect(rawKeyId(material)).toBe(rawKeyId(Buffer.from(material)))
    expect(rawKeyId(randomBytes(32))).not.toBe(rawKeyId(material))
  })

  it.each([
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['empty', ''],
    ['base64url', randomBytes(32).toString('base64url')],
    ['all zeros', Buffer.alloc(32).toString('base64')],
    ['one repeated byte', Buffer.alloc(32, 0x5a).toString('base64')],
    [
      'a counting sequence',
      Buffer.from(Array.from({ length: 32 }, (_, i) => 200 + i)).toString('base64'),
    ],
    [
      'few distinct bytes',
      Buffer.from(Array.from({ length: 32 }, (_, i) => i % 8)).toString('base64'),
    ],
  ])('refuses %s with kek_invalid, never quoting it', (_label, text) => {
    let error: unknown
    try {
      parseRawMaterial(text)
    } catch (caught) {
      error = caught
    }
    expect(isAppError(error) && error.code).toBe('kek_invalid')
    if (text) expect(JSON.stringify({ detail: (error as Error).message })).not.toContain(text)
  })
})
