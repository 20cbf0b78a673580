// Copied by `npm run sdk:mock` from src/mock/hmac-stream.ts. Do not edit: change that file.
/**
 * The random stream behind mock values: HMAC-SHA-256, keyed with the server's mock secret, over
 * a canonical encoding of the inputs followed by a 32-bit block counter. Deterministic for the
 * same inputs, unpredictable without the secret.
 *
 * WebCrypto and plain TypeScript only (no `node:` imports, no Buffer): the SDK imports this file
 * into browsers, Deno, Bun and edge runtimes.
 */

const encoder = new TextEncoder()
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const BLOCK_BYTES = 32
const MAX_BLOCKS_PER_BATCH = 64
const TWO_POW_32 = 2 ** 32

export type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

export const MIN_SECRET_BYTES = 16

export async function importHmacKey(secret: Uint8Array | string): Promise<HmacKey> {
  // A copy, so a caller's later change to its buffer cannot change our key.
  const bytes = typeof secret === 'string' ? encoder.encode(secret) : new Uint8Array(secret)
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(`the mock secret must be at least ${MIN_SECRET_BYTES} bytes`)
  }
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

/**
 * Each field as a 32-bit big-endian byte length followed by its UTF-8 bytes. With a fixed number
 * of fields the encoding is prefix-free, so no two input lists share one, and appending the
 * fixed-width counter keeps it so. Lone surrogates are refused because UTF-8 would collapse them
 * all into U+FFFD.
 */
export function encodeFields(fields: readonly string[]): Uint8Array<ArrayBuffer> {
  const parts = fields.map((field) => {
    if (LONE_SURROGATE.test(field)) {
      throw new TypeError('mock value inputs must be well-formed Unicode strings')
    }
    return encoder.encode(field)
  })
  const out = new Uint8Array(parts.reduce((total, part) => total + 4 + part.length, 0))
  const view = new DataView(out.buffer)
  let offset = 0
  for (const part of parts) {
    view.setUint32(offset, part.length)
    out.set(part, offset + 4)
    offset += 4 + part.length
  }
  return out
}

export interface RandomStream {
  /** `count` characters, each uniform over `alphabet` (at most 256 UTF-16 units, no repeats). */
  chars(alphabet: string, count: number): Promise<string>
  /** A uniform integer in [0, n), n at most 2^32. */
  int(n: number): Promise<number>
}

export function createRandomStream(key: HmacKey, context: Uint8Array): RandomStream {
  let counter = 0
  let pool = new Uint8Array(0)
  let pos = 0

  async function refill(bytesWanted: number): Promise<void> {
    const blocks = Math.min(MAX_BLOCKS_PER_BATCH, Math.max(1, Math.ceil(bytesWanted / BLOCK_BYTES)))
    if (counter + blocks > TWO_POW_32) throw new RangeError('mock value too long')
    const signatures = await Promise.all(
      Array.from({ length: blocks }, (_, i) => {
        const input = new Uint8Array(context.length + 4)
        input.set(context)
        new DataView(input.buffer).setUint32(context.length, counter + i)
        return crypto.subtle.sign('HMAC', key, input)
      }),
    )
    counter += blocks
    const next = new Uint8Array(pool.length - pos + blocks * BLOCK_BYTES)
    next.set(pool.subarray(pos))
    signatures.forEach((signature, i) => {
      next.set(new Uint8Array(signature), pool.length - pos + i * BLOCK_BYTES)
    })
    pool = next
    pos = 0
  }

  async function take(count: number, expected: number): Promise<Uint8Array> {
    if (pool.length - pos < count) await refill(expected)
    const bytes = pool.subarray(pos, pos + count)
    pos += count
    return bytes
  }

  return {
    async chars(alphabet, count) {
      if (alphabet.length === 0 || alphabet.length > 256) throw new RangeError('bad alphabet')
      // Rejection sampling: bytes at or above the largest multiple of the alphabet size are
      // dropped, so every character is exactly equally likely.
      const limit = 256 - (256 % alphabet.length)
      const expected = Math.ceil((count * 256) / limit) + 8
      let out = ''
      let produced = 0
      while (produced < count) {
        const [byte] = await take(1, expected - produced)
        if (byte === undefined || byte >= limit) continue
        out += alphabet[byte % alphabet.length]
        produced++
      }
      return out
    },
    async int(n) {
      if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError('bad range')
      const limit = TWO_POW_32 - (TWO_POW_32 % n)
      for (;;) {
        const bytes = await take(4, 16)
        const value = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
        if (value < limit) return value % n
      }
    },
  }
}
