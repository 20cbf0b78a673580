import { createTextSealer } from '../crypto/text-sealer.ts'
import type { KeyProvider } from '../kms/key-provider.ts'

/** Which seed: its person and the enrolment it was made for (a new enrolment, a new seed). */
export interface SeedPlace {
  userId: string
  enrolmentId: string
}

/**
 * Seals TOTP seeds at rest. A seed must be read to check each code, so it cannot be hashed; it
 * is envelope-encrypted under the platform KMS key (a second factor belongs to the person, not
 * to one organization's key). AAD and the KMS EncryptionContext bind it to its person and
 * enrolment: a sealed seed copied to another person's item does not open.
 */
export function createTotpSeedSealer(platform: KeyProvider) {
  return createTextSealer(platform, (place: SeedPlace) => ({
    tenantId: place.userId,
    keyId: `mfa-totp:${place.enrolmentId}`,
    version: 1,
  }))
}

export type TotpSeedSealer = ReturnType<typeof createTotpSeedSealer>
