import { AppError } from '../errors.ts'
import { KEK_PROVIDERS, type KekProviderKind, type KekRef } from '../kms/key-provider.ts'

/**
 * The sealed-record format (DESIGN.md section 3): self-describing and versioned, holding
 * nothing but what opening needs. Binary members are Uint8Array so DynamoDB stores them as B.
 * Where the record lives (tenant, key, version) is not in it: it is bound through the AAD.
 */

export const FORMAT_VERSION = 1
export const ALGORITHM = 'AES-256-GCM'
export const IV_BYTES = 12
export const TAG_BYTES = 16

export interface SealedRecord {
  v: typeof FORMAT_VERSION
  alg: typeof ALGORITHM
  kek: KekRef
  wrappedDek: Uint8Array
  iv: Uint8Array
  /** Ciphertext followed by the 16-byte GCM tag. */
  ct: Uint8Array
}

/** Where a value lives; every one of these goes into the AAD. */
export interface ValuePlace {
  tenantId: string
  keyId: string
  version: number
}

/** The one error for every failure to open: it never says why. */
export function decryptionFailed(cause?: unknown): AppError {
  return new AppError('decryption_failed', undefined, cause === undefined ? {} : { cause })
}

/** Validates a record read from storage; anything unexpected is `decryption_failed`. */
export function parseSealedRecord(value: unknown): SealedRecord {
  if (typeof value !== 'object' || value === null) throw decryptionFailed()
  const r = value as Record<string, unknown>
  const kek = r.kek as Record<string, unknown> | null | undefined
  const valid =
    r.v === FORMAT_VERSION &&
    r.alg === ALGORITHM &&
    typeof kek === 'object' &&
    kek !== null &&
    KEK_PROVIDERS.includes(kek.provider as KekProviderKind) &&
    typeof kek.keyId === 'string' &&
    kek.keyId !== '' &&
    Number.isSafeInteger(kek.version) &&
    r.wrappedDek instanceof Uint8Array &&
    r.wrappedDek.length > 0 &&
    r.iv instanceof Uint8Array &&
    r.iv.length === IV_BYTES &&
    r.ct instanceof Uint8Array &&
    r.ct.length >= TAG_BYTES
  if (!valid) throw decryptionFailed()
  return value as SealedRecord
}

/**
 * The AAD: a fixed label, then each field as a 4-byte big-endian length and its UTF-8 bytes,
 * so no two different places can encode to the same bytes (plain concatenation would let
 * tenant "a" + key "bc" collide with tenant "ab" + key "c").
 */
export function valueAad(formatVersion: number, place: ValuePlace): Buffer {
  assertPlace(place)
  const fields = [
    'keystash/value',
    String(formatVersion),
    place.tenantId,
    place.keyId,
    String(place.version),
  ]
  // One allocation: this runs on every value read.
  const lengths = fields.map((field) => Buffer.byteLength(field, 'utf8'))
  const out = Buffer.allocUnsafe(lengths.reduce((sum, length) => sum + 4 + length, 0))
  let offset = 0
  fields.forEach((field, i) => {
    offset = out.writeUInt32BE(lengths[i] as number, offset)
    offset += out.write(field, offset, 'utf8')
  })
  return out
}

// A bad place is a bug in the caller, not a property of the record, so it is not opaque.
function assertPlace({ tenantId, keyId, version }: ValuePlace): void {
  if (typeof tenantId !== 'string' || tenantId === '')
    throw new TypeError('tenantId must be a non-empty string')
  if (typeof keyId !== 'string' || keyId === '')
    throw new TypeError('keyId must be a non-empty string')
  if (!Number.isSafeInteger(version) || version < 0)
    throw new TypeError('version must be a non-negative integer')
}
