import type { KMSClient } from '@aws-sdk/client-kms'
import type { EncryptionContext, KeyProvider } from './key-provider.ts'

/**
 * A tenant's KEK as the resolver hands it out: a KeyProvider that can also wrap an existing
 * data key, which is what re-wrapping under a new KEK needs when KMS ReEncrypt cannot do it
 * in one call (from or to a raw key, or across credentials).
 */
export interface KekProvider extends KeyProvider {
  wrapDataKey(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>
  /** KMS keys only: the client and key of the primary region, for ReEncrypt. */
  readonly kms?: KmsTarget
}

export interface KmsTarget {
  client: Pick<KMSClient, 'send'>
  /** A key ARN (or, for the platform key, whatever id the server is configured with). */
  keyId: string
}
