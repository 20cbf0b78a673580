import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { AppError } from '../errors.ts'
import type { KekProvider } from './kek-provider.ts'
import { DATA_KEY_BYTES, type EncryptionContext, type KekRef } from './key-provider.ts'

/**
 * A tenant's raw key-encryption key: 32 bytes the tenant supplied, kept sealed under the
 * platform key and opened only for the moment a data key is wrapped or unwrapped. Data keys
 * are wrapped locally with AES-256-GCM; the encryption context (tenant, key) and the KEK's
 * identity are the AAD, so a wrapped key moved to another tenant, key or KEK version fails to
 * open. Every failure to unwrap is the one opaque `decryption_failed`.
 *
 * Wrapped format: 1 byte format version (1), 12-byte IV, 32-byte ciphertext, 16-byte tag.
 */
const WRAP_FORMAT = 1
const IV_BYTES = 12
const TAG_BYTES = 16
const WRAPPED_BYTES = 1 + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES

export interface RawKeyOptions {
  kek: KekRef
  /** Opens the material; the provider zeroes the buffer it gets once done. */
  material: () => Promise<Buffer>
}

export function createRawKeyProvider({ kek, material }: RawKeyOptions): KekProvider {
  const ref: KekRef = Object.freeze({ ...kek })

  async function withMaterial<T>(use: (key: Buffer) => T): Promise<T> {
    const key = await material()
    try {
      if (key.length !== DATA_KEY_BYTES) throw new AppError('decryption_failed')
      return use(key)
    } finally {
      key.fill(0)
    }
  }

  const wrap = (plaintext: Uint8Array, context: EncryptionContext) =>
    withMaterial((key) => {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(wrapAad(ref, context))
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
      return new Uint8Array(Buffer.concat([Buffer.of(WRAP_FORMAT), iv, body, cipher.getAuthTag()]))
    })

  return {
    kek: ref,

    async generateDataKey(context) {
      const plaintext = randomBytes(DATA_KEY_BYTES)
      try {
        return { plaintext, wrapped: await wrap(plaintext, context), kek: ref }
      } catch (error) {
        plaintext.fill(0)
        throw error
      }
    },

    wrapDataKey: async (plaintext, context) => {
      if (plaintext.length !== DATA_KEY_BYTES) throw new TypeError('a data key is 32 bytes')
      return wrap(plaintext, context)
    },

    unwrapDataKey: (wrapped, context) =>
      withMaterial((key) => {
        const blob = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength)
        if (blob.length !== WRAPPED_BYTES || blob[0] !== WRAP_FORMAT) {
          throw new AppError('decryption_failed')
        }
        const iv = blob.subarray(1, 1 + IV_BYTES)
        const body = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + DATA_KEY_BYTES)
        let dek: Buffer | undefined
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
          decipher.setAAD(wrapAad(ref, context))
          decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES))
          dek = decipher.update(body)
          decipher.final()
          return dek
        } catch {
          dek?.fill(0)
          throw new AppError('decryption_failed')
        }
      }),
  }
}

/** Length-prefixed fields, so no two different inputs encode alike. */
function wrapAad(kek: KekRef, context: EncryptionContext): Buffer {
  const fields = [
    'keystash/raw-dek',
    context.tenantId,
    context.keyId ?? '',
    kek.keyId,
    String(kek.version),
  ]
  return Buffer.concat(
    fields.flatMap((field) => {
      const bytes = Buffer.from(field, 'utf8')
      const length = Buffer.alloc(4)
      length.writeUInt32BE(bytes.length)
      return [length, bytes]
    }),
  )
}

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
// 32 random bytes hold ~31 distinct values; fewer than 16 happens by chance with negligible odds.
const MIN_DISTINCT_BYTES = 16

/**
 * Decodes a tenant's raw key: standard base64 of exactly 32 bytes, refused when it is
 * trivially weak (one repeated byte, few distinct bytes, a counting sequence). The messages
 * say what is wrong, never what was sent. The caller owns (and zeroes) the returned buffer.
 */
export function parseRawMaterial(base64: string): Buffer {
  const refuse = (reason: string) =>
    new AppError('kek_invalid', `The raw key was refused: ${reason}`, {
      extra: { reason: 'raw_material_invalid' },
    })
  const text = base64.trim()
  if (!STRICT_BASE64.test(text) || text.length % 4 !== 0) {
    throw refuse('it must be standard base64 (A-Z a-z 0-9 + /, padded with =).')
  }
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length !== DATA_KEY_BYTES) {
    const length = bytes.length
    bytes.fill(0)
    throw refuse(`it must be exactly ${DATA_KEY_BYTES} bytes; it is ${length} bytes.`)
  }
  if (isWeak(bytes)) {
    bytes.fill(0)
    throw refuse(
      'it is not random (repeated or sequential bytes). Generate it with a CSPRNG, e.g. `openssl rand -base64 32`.',
    )
  }
  return bytes
}

function isWeak(bytes: Buffer): boolean {
  if (new Set(bytes).size < MIN_DISTINCT_BYTES) return true
  const step = ((bytes[1] ?? 0) - (bytes[0] ?? 0) + 256) % 256
  return bytes.every((b, i) => i === 0 || (b - (bytes[i - 1] ?? 0) + 256) % 256 === step)
}

/**
 * A raw key's public name: a hash of the material under a fixed label, so a tenant can tell
 * which key is in use without anything being revealed about it (it is 256 random bits).
 */
export function rawKeyId(material: Uint8Array): string {
  const digest = createHash('sha256').update('keystash/raw-kek-id').update(material).digest('hex')
  return `raw-${digest.slice(0, 16)}`
}
