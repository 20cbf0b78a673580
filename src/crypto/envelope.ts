import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { isAppError } from '../errors.ts'
import {
  DATA_KEY_BYTES,
  type EncryptionContext,
  type KekRef,
  type KeyProvider,
} from '../kms/key-provider.ts'
import type { Maybe } from '../lib/maybe.ts'
import {
  ALGORITHM,
  decryptionFailed,
  FORMAT_VERSION,
  IV_BYTES,
  parseSealedRecord,
  type SealedRecord,
  TAG_BYTES,
  type ValuePlace,
  valueAad,
} from './record.ts'

/**
 * Envelope encryption of one value (DESIGN.md section 3): a fresh data key per sealed
 * value from the KeyProvider, AES-256-GCM with a random 12-byte IV, and AAD binding the
 * ciphertext to its tenant, key and version.
 */

export interface UnwrapRequest {
  wrapped: Uint8Array
  /** From the record: lets the caller pick the provider that wrapped this DEK. */
  kek: KekRef
  context: EncryptionContext
}

/**
 * How `openValue` gets a DEK; the DEK cache plugs in here. It must return a buffer the caller
 * owns: `openValue` zeroes it when done.
 */
/** A data key from the data-key cache comes back at once; one that KMS must unwrap, later. */
export type UnwrapDataKey = (request: UnwrapRequest) => Maybe<Buffer>

/** Unwraps straight through a provider, with no cache. */
export const unwrapWith =
  (provider: Pick<KeyProvider, 'unwrapDataKey'>): UnwrapDataKey =>
  ({ wrapped, context }) =>
    provider.unwrapDataKey(wrapped, context)

export interface SealInput extends ValuePlace {
  provider: Pick<KeyProvider, 'generateDataKey'>
  plaintext: Uint8Array
}

export async function sealValue({
  provider,
  plaintext,
  ...place
}: SealInput): Promise<SealedRecord> {
  const aad = valueAad(FORMAT_VERSION, place)
  const dataKey = await provider.generateDataKey(contextOf(place))
  try {
    if (dataKey.plaintext.length !== DATA_KEY_BYTES) throw new Error('data key is not 32 bytes')
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, iv, {
      authTagLength: TAG_BYTES,
    })
    cipher.setAAD(aad)
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    return {
      v: FORMAT_VERSION,
      alg: ALGORITHM,
      kek: { ...dataKey.kek },
      wrappedDek: dataKey.wrapped,
      iv,
      ct,
    }
  } finally {
    dataKey.plaintext.fill(0)
  }
}

export interface OpenInput extends ValuePlace {
  /** As read from storage; validated here. */
  record: unknown
  unwrap: UnwrapDataKey
}

/**
 * Opens a sealed value; the caller owns the returned buffer. Every failure that concerns the
 * record (malformed, unknown format, moved to another place, tampered, a wrapped key that
 * does not unwrap) is the same opaque `decryption_failed`. Errors that the operator must act
 * on (KEK disabled, access denied, KMS throttled or unavailable, ...) pass through unchanged.
 */
export async function openValue({ record, unwrap, ...place }: OpenInput): Promise<Buffer> {
  return openWithAad(record, valueAad(FORMAT_VERSION, place), place, unwrap)
}

/**
 * `openValue` with the place's AAD (`valueAad(FORMAT_VERSION, place)`) worked out by the
 * caller, which may keep it: the AAD is a function of the place alone. Synchronous when the
 * data key is at hand (a data-key cache hit), a promise when it must be unwrapped.
 */
export function openWithAad(
  record: unknown,
  aad: Buffer,
  place: ValuePlace,
  unwrap: UnwrapDataKey,
): Maybe<Buffer> {
  const sealed = parseSealedRecord(record)
  let dek: Maybe<Buffer>
  try {
    dek = unwrap({ wrapped: sealed.wrappedDek, kek: sealed.kek, context: contextOf(place) })
  } catch (error) {
    throw unwrapFailed(error)
  }
  if (dek instanceof Promise) {
    return dek.then(
      (key) => openWithDataKey(sealed, aad, key),
      (error: unknown) => {
        throw unwrapFailed(error)
      },
    )
  }
  return openWithDataKey(sealed, aad, dek)
}

function unwrapFailed(error: unknown): unknown {
  if (isAppError(error) && error.code !== 'decryption_failed') return error
  // Keep an unexpected error as the cause, for the server log only: the message stays opaque.
  return decryptionFailed(isAppError(error) ? undefined : error)
}

/**
 * Opens a parsed record with its DEK, already unwrapped (from the data-key cache). Takes the
 * DEK over: it is zeroed here, whatever happens.
 */
function openWithDataKey(sealed: SealedRecord, aad: Buffer, dek: Buffer): Buffer {
  try {
    if (dek.length !== DATA_KEY_BYTES) throw decryptionFailed()
    return decrypt(dek, sealed, aad)
  } finally {
    dek.fill(0)
  }
}

function decrypt(dek: Buffer, sealed: SealedRecord, aad: Buffer): Buffer {
  const ct = Buffer.from(sealed.ct.buffer, sealed.ct.byteOffset, sealed.ct.byteLength)
  const tagStart = ct.length - TAG_BYTES
  let plaintext: Buffer | undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', dek, sealed.iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(ct.subarray(tagStart))
    plaintext = decipher.update(ct.subarray(0, tagStart))
    decipher.final()
    return plaintext
  } catch {
    // GCM hands out plaintext before checking the tag; do not leave unauthenticated bytes around.
    plaintext?.fill(0)
    throw decryptionFailed()
  }
}

// The KMS EncryptionContext carries the tenant and the key, not the version: one DEK per
// version is already unique, and the AAD binds the version.
function contextOf(place: ValuePlace): EncryptionContext {
  return { tenantId: place.tenantId, keyId: place.keyId }
}
