/**
 * A key-encryption key (KEK) provider: it makes fresh data keys (DEKs) and unwraps them again.
 * Implementations: AWS KMS (the platform key or a tenant's own key), a tenant's raw key, and an
 * in-memory twin for tests. Providers translate their own failures into AppError codes, so
 * callers never see SDK errors.
 */

export const KEK_PROVIDERS = ['platform', 'aws-kms', 'raw'] as const
export type KekProviderKind = (typeof KEK_PROVIDERS)[number]

/**
 * Which KEK wrapped a DEK, as stored in every sealed record so a reader can pick the right
 * provider (and a rotation job can find what to re-wrap). Never key material.
 */
export interface KekRef {
  provider: KekProviderKind
  /** KMS key ARN or id for AWS KMS; the raw key's id for raw keys. */
  keyId: string
  /** Bumped when a tenant replaces its KEK, so records still under the old one can be found. */
  version: number
}

/**
 * What a data key is bound to. AWS KMS receives it as the EncryptionContext (so the tenant's
 * CloudTrail shows which tenant each call served, and key policies can require it); other
 * providers bind it as AAD. Unwrapping under a different context fails.
 */
export interface EncryptionContext {
  tenantId: string
  keyId?: string
}

export interface DataKey {
  /** 32 bytes of AES-256 key material. The caller owns it and zeroes it after use. */
  plaintext: Buffer
  wrapped: Uint8Array
  kek: KekRef
}

export interface KeyProvider {
  readonly kek: KekRef
  generateDataKey(context: EncryptionContext): Promise<DataKey>
  /**
   * Returns a buffer the caller owns (and zeroes after use). A wrapped key that is not
   * valid under this KEK and context fails with `decryption_failed`; an unusable KEK or
   * service fails with its own code (`kek_disabled`, `kms_unavailable`, ...).
   */
  unwrapDataKey(wrapped: Uint8Array, context: EncryptionContext): Promise<Buffer>
}

/** AES-256 key length in bytes, for DEKs and raw KEKs alike. */
export const DATA_KEY_BYTES = 32
