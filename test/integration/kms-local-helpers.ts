import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { STSClient } from '@aws-sdk/client-sts'
import { expect } from 'vitest'
import type { LocalKms } from '../../tools/kms-local/server.ts'

/**
 * Shared by the kms-local-*.test.ts files: SDK clients pointed at a local KMS with static fake
 * credentials, which is all a test needs to play a caller (platform, tenant, another region).
 */
export const platformAccessKey = 'AKIAPLATFORM0000001'
export const region = 'eu-west-1'

export interface ClientOptions {
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  region?: string
  maxAttempts?: number
}

export function kmsClient(kms: LocalKms, options: ClientOptions = {}): KMSClient {
  return new KMSClient({ endpoint: kms.url, ...clientConfig(options) })
}

export function stsClient(kms: LocalKms, options: ClientOptions = {}): STSClient {
  return new STSClient({ endpoint: kms.url, ...clientConfig(options) })
}

function clientConfig(options: ClientOptions) {
  return {
    region: options.region ?? region,
    maxAttempts: options.maxAttempts ?? 3,
    credentials: {
      accessKeyId: options.accessKeyId ?? platformAccessKey,
      secretAccessKey: options.secretAccessKey ?? 'fake-secret-for-local-kms',
      ...(options.sessionToken !== undefined && { sessionToken: options.sessionToken }),
    },
  }
}

/** Awaits a rejection and returns the error, so a test can assert its class, name and more. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(Error)
    return error as Error & Record<string, unknown>
  }
  throw new Error('expected the call to fail, but it succeeded')
}

export const utf8 = (text: string) => new TextEncoder().encode(text)
export const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes)

/** Creates a key and returns its id and ARN. */
export async function createKey(
  client: KMSClient,
  input: ConstructorParameters<typeof CreateKeyCommand>[0] = {},
): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await client.send(new CreateKeyCommand(input))
  if (!KeyMetadata?.KeyId || !KeyMetadata.Arn) throw new Error('CreateKey returned no metadata')
  return { keyId: KeyMetadata.KeyId, arn: KeyMetadata.Arn }
}
