import { openValue, sealValue, unwrapWith } from '../crypto/envelope.ts'
import type { SealedRecord } from '../crypto/record.ts'
import type { KeyProvider } from '../kms/key-provider.ts'

/**
 * Seals an organization's OIDC client secret at rest. It authenticates Keystash to the
 * identity provider at every sign-in, so it cannot be hashed; it is envelope-encrypted like a
 * key value, under the platform KMS key, with AAD and the KMS EncryptionContext binding it to
 * its tenant and to the version of the settings that stored it: a sealed secret copied to
 * another organization, or put back from an older version, does not open.
 */
export function createClientSecretSealer(platform: KeyProvider) {
  const placeOf = (tenantId: string, version: number) => ({
    tenantId,
    keyId: 'sso:client-secret',
    version,
  })
  return {
    async seal(tenantId: string, version: number, secret: string): Promise<SealedRecord> {
      const plaintext = Buffer.from(secret, 'utf8')
      try {
        return await sealValue({ provider: platform, plaintext, ...placeOf(tenantId, version) })
      } finally {
        plaintext.fill(0)
      }
    },
    async open(tenantId: string, version: number, sealed: unknown): Promise<string> {
      const bytes = await openValue({
        record: sealed,
        unwrap: unwrapWith(platform),
        ...placeOf(tenantId, version),
      })
      try {
        return bytes.toString('utf8')
      } finally {
        bytes.fill(0)
      }
    },
  }
}

export type ClientSecretSealer = ReturnType<typeof createClientSecretSealer>
