import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KMSClient,
  NotFoundException,
} from '@aws-sdk/client-kms'

/**
 * Creates the platform key-encryption key under `alias` when no key answers to it. Used by
 * development mode and by `migrate --create-platform-key` against a local KMS; on AWS the key
 * belongs in the operator's infrastructure code, with its key policy.
 */
export async function ensurePlatformKey(
  kms: KMSClient,
  alias: string,
): Promise<'created' | 'exists'> {
  try {
    await kms.send(new DescribeKeyCommand({ KeyId: alias }))
    return 'exists'
  } catch (error) {
    if (!(error instanceof NotFoundException)) throw error
  }
  if (!alias.startsWith('alias/')) {
    throw new Error(
      `the platform key ${alias} does not exist, and only an alias (alias/...) can be created`,
    )
  }
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({ Description: 'Keystash platform key-encryption key' }),
  )
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata?.KeyId }))
  return 'created'
}
