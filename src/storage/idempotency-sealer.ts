import { openValue, sealValue, unwrapWith } from '../crypto/envelope.ts'
import type { SealedRecord } from '../crypto/record.ts'
import type { KeyProvider } from '../kms/key-provider.ts'
import type { IdempotencyScope } from './idempotency.ts'

/**
 * Seals a stored response that carries a secret (the string of a newly created token) so an
 * idempotent replay can hand it out again without it ever sitting in DynamoDB in plaintext.
 * Same envelope encryption as API keys, under the platform KMS key, and bound by AAD and the
 * KMS EncryptionContext to its tenant and idempotency key: a sealed body copied to another
 * item does not open.
 */
export interface ResponseSealer {
  seal(scope: IdempotencyScope, body: string): Promise<string>
  open(scope: IdempotencyScope, sealed: string): Promise<string>
}

const placeOf = (scope: IdempotencyScope) => ({
  tenantId: scope.tenantId,
  keyId: `idempotency:${scope.keyHash}`,
  version: 1,
})

const BINARY_FIELDS = ['wrappedDek', 'iv', 'ct'] as const

export function createEnvelopeResponseSealer(platform: KeyProvider): ResponseSealer {
  return {
    async seal(scope, body) {
      const plaintext = new TextEncoder().encode(body)
      try {
        const record = await sealValue({ provider: platform, plaintext, ...placeOf(scope) })
        const out: Record<string, unknown> = { ...record }
        for (const field of BINARY_FIELDS)
          out[field] = Buffer.from(record[field]).toString('base64')
        return JSON.stringify(out)
      } finally {
        plaintext.fill(0)
      }
    },
    async open(scope, sealed) {
      let parsed: Record<string, unknown> = {}
      try {
        parsed = JSON.parse(sealed) as Record<string, unknown>
      } catch {
        // openValue turns a malformed record into its opaque error.
      }
      const record: Record<string, unknown> = { ...parsed }
      for (const field of BINARY_FIELDS) {
        const value = parsed[field]
        record[field] = typeof value === 'string' ? Buffer.from(value, 'base64') : undefined
      }
      const plaintext = await openValue({
        record: record as unknown as SealedRecord,
        unwrap: unwrapWith(platform),
        ...placeOf(scope),
      })
      try {
        return new TextDecoder().decode(plaintext)
      } finally {
        plaintext.fill(0)
      }
    },
  }
}
