import type { KeyProvider } from '../kms/key-provider.ts'
import { openValue, sealValue, unwrapWith } from './envelope.ts'
import type { SealedRecord, ValuePlace } from './record.ts'

/**
 * Seals short secrets the server must read back (webhook signing secrets, TOTP seeds) under one
 * KMS key, each bound to its place by AAD and the KMS EncryptionContext. `placeOf` maps the
 * caller's notion of a place to the envelope's; the plaintext buffers are zeroed after use.
 */
export function createTextSealer<Place>(
  provider: KeyProvider,
  placeOf: (place: Place) => ValuePlace,
) {
  return {
    async seal(place: Place, text: string): Promise<SealedRecord> {
      const plaintext = Buffer.from(text, 'utf8')
      try {
        return await sealValue({ provider, plaintext, ...placeOf(place) })
      } finally {
        plaintext.fill(0)
      }
    },
    async open(place: Place, sealed: unknown): Promise<string> {
      const bytes = await openValue({
        record: sealed,
        unwrap: unwrapWith(provider),
        ...placeOf(place),
      })
      try {
        return bytes.toString('utf8')
      } finally {
        bytes.fill(0)
      }
    },
  }
}
