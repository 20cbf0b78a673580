import { randomBytes } from 'node:crypto'
import { createTextSealer } from '../crypto/text-sealer.ts'
import type { KeyProvider } from '../kms/key-provider.ts'

/**
 * A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64 (the form the
 * specification's libraries take as is).
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

export interface SecretPlace {
  tenantId: string
  webhookId: string
  version: number
}

/**
 * Seals endpoint secrets at rest. They sign every delivery, so they cannot be hashed; they are
 * envelope-encrypted like key values, under the platform KMS key rather than the tenant's own:
 * `encryption.key_unreachable` must still reach the tenant when its key does not. AAD and the
 * KMS EncryptionContext bind each sealed secret to its tenant, endpoint and version.
 */
export function createWebhookSecretSealer(platform: KeyProvider) {
  return createTextSealer(platform, (place: SecretPlace) => ({
    tenantId: place.tenantId,
    keyId: `webhook:${place.webhookId}`,
    version: place.version,
  }))
}

export type WebhookSecretSealer = ReturnType<typeof createWebhookSecretSealer>
