import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { AppError, type ErrorCode } from '../errors.ts'
import {
  DATA_KEY_BYTES,
  type DataKey,
  type EncryptionContext,
  type KekRef,
  type KeyProvider,
} from './key-provider.ts'

/**
 * An in-memory twin of a KMS-backed KeyProvider for unit tests: data keys are wrapped with
 * AES-256-GCM under a random KEK that lives only in this process, with the encryption
 * context bound as AAD, so a wrong tenant or key id fails just as KMS would. It counts calls
 * and can be told to fail with a given AppError code.
 */

export type MemoryKeyOperation = 'generateDataKey' | 'unwrapDataKey'

export interface FailureOptions {
  /** Only this operation fails; both when omitted. */
  operation?: MemoryKeyOperation
  /** Fail this many calls, then succeed again; every call until cleared when omitted. */
  times?: number
}

const IV_BYTES = 12
const TAG_BYTES = 16
const WRAPPED_BYTES = IV_BYTES + DATA_KEY_BYTES + TAG_BYTES

export interface MemoryKeyProvider extends KeyProvider {
  /** How many times each operation was called, failed calls included. */
  readonly calls: Readonly<Record<MemoryKeyOperation, number>>
  /** Makes the next calls fail with `code`; `failWith(undefined)` clears it. */
  failWith(code: ErrorCode | undefined, options?: FailureOptions): void
}

export function createMemoryKeyProvider(options: { kek?: KekRef } = {}): MemoryKeyProvider {
  const material = randomBytes(DATA_KEY_BYTES)
  const kek: KekRef = Object.freeze({
    ...(options.kek ?? { provider: 'raw', keyId: 'memory', version: 1 }),
  })
  const calls: Record<MemoryKeyOperation, number> = { generateDataKey: 0, unwrapDataKey: 0 }
  let failure: { code: ErrorCode; operation?: MemoryKeyOperation; remaining: number } | undefined

  function enter(operation: MemoryKeyOperation): void {
    calls[operation]++
    if (!failure || (failure.operation && failure.operation !== operation)) return
    const { code } = failure
    failure.remaining--
    if (failure.remaining <= 0) failure = undefined
    throw new AppError(code, `memory key provider: injected ${code}`)
  }

  const provider: MemoryKeyProvider = {
    kek,
    calls,

    failWith(code, failureOptions = {}) {
      failure =
        code === undefined
          ? undefined
          : {
              code,
              operation: failureOptions.operation,
              remaining: failureOptions.times ?? Infinity,
            }
    },

    async generateDataKey(context): Promise<DataKey> {
      await Promise.resolve()
      enter('generateDataKey')
      const plaintext = randomBytes(DATA_KEY_BYTES)
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', material, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(contextAad(context))
      const wrapped = Buffer.concat([
        iv,
        cipher.update(plaintext),
        cipher.final(),
        cipher.getAuthTag(),
      ])
      return { plaintext, wrapped, kek }
    },

    async unwrapDataKey(wrapped, context): Promise<Buffer> {
      await Promise.resolve()
      enter('unwrapDataKey')
      if (wrapped.length !== WRAPPED_BYTES) throw new AppError('decryption_failed')
      const blob = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength)
      const decipher = createDecipheriv('aes-256-gcm', material, blob.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      })
      decipher.setAAD(contextAad(context))
      decipher.setAuthTag(blob.subarray(IV_BYTES + DATA_KEY_BYTES))
      const dek = decipher.update(blob.subarray(IV_BYTES, IV_BYTES + DATA_KEY_BYTES))
      try {
        decipher.final()
      } catch {
        dek.fill(0)
        throw new AppError('decryption_failed')
      }
      return dek
    },
  }

  return provider
}

// JSON of a fixed-order array keeps "a" + "bc" apart from "ab" + "c", and an absent key id
// apart from an empty one.
function contextAad(context: EncryptionContext): Buffer {
  return Buffer.from(
    JSON.stringify(['keystash-memory-kek/1', context.tenantId, context.keyId ?? null]),
  )
}
