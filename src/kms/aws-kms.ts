import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { AppError } from '../errors.ts'
import { translateKmsError } from './errors.ts'
import {
  DATA_KEY_BYTES,
  type DataKey,
  type EncryptionContext,
  type KekRef,
  type KeyProvider,
} from './key-provider.ts'

/** EncryptionContext member names; key policies can require them (kms:EncryptionContext:...). */
export const KMS_CONTEXT_TENANT = 'keystash:tenant'
export const KMS_CONTEXT_KEY = 'keystash:key'

export function kmsEncryptionContext(context: EncryptionContext): Record<string, string> {
  const result: Record<string, string> = { [KMS_CONTEXT_TENANT]: context.tenantId }
  if (context.keyId !== undefined) result[KMS_CONTEXT_KEY] = context.keyId
  return result
}

export interface AwsKmsProviderOptions {
  client: Pick<KMSClient, 'send'>
  /** What KMS calls name: a key id, key ARN, alias name or alias ARN. */
  keyId: string
  /** What sealed records store. Prefer the key ARN over an alias, which can be re-pointed. */
  kek: KekRef
}

export function createAwsKmsProvider({ client, keyId, kek }: AwsKmsProviderOptions): KeyProvider {
  if (keyId === '') throw new TypeError('createAwsKmsProvider: keyId is empty')
  if (kek.provider === 'raw')
    throw new TypeError('createAwsKmsProvider: kek.provider must be an AWS KMS kind')
  const ref: KekRef = Object.freeze({ ...kek })

  return {
    kek: ref,

    async generateDataKey(context): Promise<DataKey> {
      let output: Awaited<ReturnType<typeof sendGenerate>>
      try {
        output = await sendGenerate(client, keyId, context)
      } catch (error) {
        throw translateKmsError(error, 'GenerateDataKey')
      }
      const { Plaintext, CiphertextBlob } = output
      if (Plaintext?.length !== DATA_KEY_BYTES || !CiphertextBlob?.length) {
        Plaintext?.fill(0)
        throw new AppError(
          'kms_unavailable',
          'AWS KMS returned an unexpected GenerateDataKey response.',
        )
      }
      const plaintext = Buffer.from(Plaintext)
      Plaintext.fill(0)
      return { plaintext, wrapped: CiphertextBlob, kek: ref }
    },

    async unwrapDataKey(wrapped, context): Promise<Buffer> {
      let output: Awaited<ReturnType<typeof sendDecrypt>>
      try {
        output = await sendDecrypt(client, keyId, wrapped, context)
      } catch (error) {
        throw translateKmsError(error, 'Decrypt')
      }
      const { Plaintext } = output
      // Anything but a 32-byte key means the blob was never one of our data keys.
      if (Plaintext?.length !== DATA_KEY_BYTES) {
        Plaintext?.fill(0)
        throw new AppError('decryption_failed')
      }
      const dek = Buffer.from(Plaintext)
      Plaintext.fill(0)
      return dek
    },
  }
}

function sendGenerate(client: Pick<KMSClient, 'send'>, keyId: string, context: EncryptionContext) {
  return client.send(
    new GenerateDataKeyCommand({
      KeyId: keyId,
      KeySpec: 'AES_256',
      EncryptionContext: kmsEncryptionContext(context),
    }),
  )
}

function sendDecrypt(
  client: Pick<KMSClient, 'send'>,
  keyId: string,
  wrapped: Uint8Array,
  context: EncryptionContext,
) {
  // Naming the key makes KMS refuse a blob made under any other key (IncorrectKeyException).
  return client.send(
    new DecryptCommand({
      KeyId: keyId,
      CiphertextBlob: wrapped,
      EncryptionContext: kmsEncryptionContext(context),
    }),
  )
}
