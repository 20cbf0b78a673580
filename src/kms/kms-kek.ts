import { EncryptCommand, ReEncryptCommand } from '@aws-sdk/client-kms'
import { AppError, isAppError } from '../errors.ts'
import { createAwsKmsProvider, kmsEncryptionContext } from './aws-kms.ts'
import { translateKmsError } from './errors.ts'
import type { KekProvider, KmsTarget } from './kek-provider.ts'
import type { EncryptionContext, KekRef } from './key-provider.ts'

/**
 * A KEK held in AWS KMS (the platform key, or a tenant's own), reachable in one or more
 * regions: the key itself first, then its multi-Region replicas in the order given. A call
 * moves on to the next region only when a region is unavailable or throttling; a refusal
 * (disabled, access denied, pending deletion, bad ciphertext) is the key's state, the same in
 * every region, and is reported at once.
 */
export function createKmsKekProvider({
  kek,
  targets,
}: {
  kek: KekRef
  /** The primary first; each client must be for its key's region. */
  targets: KmsTarget[]
}): KekProvider {
  const [primary] = targets
  if (!primary) throw new TypeError('createKmsKekProvider: no KMS key given')
  const regional = targets.map((target) => ({
    ...target,
    provider: createAwsKmsProvider({ client: target.client, keyId: target.keyId, kek }),
  }))

  async function firstAvailable<T>(call: (target: (typeof regional)[number]) => Promise<T>) {
    let last: unknown
    for (const target of regional) {
      try {
        return await call(target)
      } catch (error) {
        if (!isRegionalFailure(error)) throw error
        last = error
      }
    }
    throw last
  }

  return {
    kek: regional[0]?.provider.kek ?? kek,
    kms: primary,
    generateDataKey: (context) => firstAvailable((t) => t.provider.generateDataKey(context)),
    unwrapDataKey: (wrapped, context) =>
      firstAvailable((t) => t.provider.unwrapDataKey(wrapped, context)),
    wrapDataKey: (plaintext, context) =>
      firstAvailable(async ({ client, keyId }) => {
        try {
          const { CiphertextBlob } = await client.send(
            new EncryptCommand({
              KeyId: keyId,
              Plaintext: plaintext,
              EncryptionContext: kmsEncryptionContext(context),
            }),
          )
          if (!CiphertextBlob?.length)
            throw new AppError('kms_unavailable', 'AWS KMS returned no ciphertext.')
          return CiphertextBlob
        } catch (error) {
          throw translateKmsError(error)
        }
      }),
  }
}

export function isRegionalFailure(error: unknown): boolean {
  return isAppError(error) && (error.code === 'kms_unavailable' || error.code === 'kms_throttled')
}

/**
 * Moves a wrapped data key from one KEK to another: KMS ReEncrypt when both are KMS keys
 * reached through the same client (one call, the data key never leaves KMS), otherwise
 * unwrap with the source and wrap with the destination. Either way the data key, and so the
 * value ciphertext it protects, stays the same.
 */
export async function rewrapDataKey(
  source: KekProvider,
  destination: KekProvider,
  wrapped: Uint8Array,
  context: EncryptionContext,
): Promise<Uint8Array> {
  if (source.kms && destination.kms && source.kms.client === destination.kms.client) {
    try {
      const kmsContext = kmsEncryptionContext(context)
      const { CiphertextBlob } = await destination.kms.client.send(
        new ReEncryptCommand({
          CiphertextBlob: wrapped,
          SourceKeyId: source.kms.keyId,
          SourceEncryptionContext: kmsContext,
          DestinationKeyId: destination.kms.keyId,
          DestinationEncryptionContext: kmsContext,
        }),
      )
      if (CiphertextBlob?.length) return CiphertextBlob
    } catch (error) {
      const translated = translateKmsError(error, 'ReEncrypt')
      // A key policy may allow Decrypt and Encrypt but not ReEncrypt, and a region may be
      // down where a replica is not: the two-step path below can still succeed.
      if (translated.code !== 'kek_access_denied' && !isRegionalFailure(translated))
        throw translated
    }
  }
  const dek = await source.unwrapDataKey(wrapped, context)
  try {
    return await destination.wrapDataKey(dek, context)
  } finally {
    dek.fill(0)
  }
}
