import {
  DecryptCommand,
  DisabledException,
  GenerateDataKeyCommand,
  type KMSClient,
  KMSInvalidStateException,
  KMSServiceException,
} from '@aws-sdk/client-kms'
import { describe, expect, it } from 'vitest'
import { AppError, type ErrorCode } from '../../src/errors.ts'
import { createAwsKmsProvider, kmsEncryptionContext } from '../../src/kms/aws-kms.ts'
import { translateKmsError } from '../../src/kms/errors.ts'

const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'

/** An error shaped like the SDK's: a `name`, an AWS message quoting the ARN, and `$metadata`. */
function sdkError(name: string, status = 400, message = `AWS-ORIGINAL-MESSAGE for ${ARN}`) {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'r-1', attempts: 1 },
  })
}

const cases: Array<[string, number, ErrorCode]> = [
  ['DisabledException', 400, 'kek_disabled'],
  ['AccessDeniedException', 400, 'kek_access_denied'],
  ['KMSInvalidStateException', 400, 'kek_pending_deletion'],
  ['NotFoundException', 400, 'kek_not_found'],
  ['ThrottlingException', 400, 'kms_throttled'],
  ['LimitExceededException', 400, 'kms_throttled'],
  ['KMSInternalException', 500, 'kms_unavailable'],
  ['DependencyTimeoutException', 500, 'kms_unavailable'],
  ['KeyUnavailableException', 500, 'kms_unavailable'],
  ['SomeFutureServerException', 503, 'kms_unavailable'],
  ['XksProxyUriUnreachableException', 400, 'kms_unavailable'],
  ['InvalidCiphertextException', 400, 'decryption_failed'],
  ['IncorrectKeyException', 400, 'decryption_failed'],
  ['InvalidKeyUsageException', 400, 'kek_invalid'],
  ['UnrecognizedClientException', 400, 'kek_access_denied'],
  ['SomeFutureClientException', 400, 'internal'],
]

describe('translateKmsError', () => {
  it.each(cases)('maps %s (HTTP %i) to %s', (name, status, code) => {
    const error = translateKmsError(sdkError(name, status))
    expect(error).toBeInstanceOf(AppError)
    expect(error.code).toBe(code)
  })

  it.each(cases)('never quotes the AWS message or a key ARN (%s)', (name, status) => {
    const error = translateKmsError(sdkError(name, status))
    expect(error.message).not.toContain('arn:')
    expect(error.message).not.toContain('AWS-ORIGINAL-MESSAGE')
    expect(JSON.stringify(error.extra)).not.toContain('arn:')
  })

  it('uses the real SDK classes by name, including generic ones with `name` set', () => {
    const disabled = new DisabledException({ message: `${ARN} is disabled.`, $metadata: {} })
    expect(translateKmsError(disabled).code).toBe('kek_disabled')
    const denied = new KMSServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: `User: arn:aws:iam::1:role/x is not authorized to perform kms:Decrypt on ${ARN}`,
      $metadata: { httpStatusCode: 400 },
    })
    const translated = translateKmsError(denied)
    expect(translated.code).toBe('kek_access_denied')
    expect(translated.detail).toMatch(/key policy/)
    expect(translated.cause).toBe(denied)
  })

  it('names the key state of KMSInvalidStateException, from an allow-list only', () => {
    const pending = new KMSInvalidStateException({
      message: `${ARN} is pending deletion.`,
      $metadata: { httpStatusCode: 400 },
    })
    const error = translateKmsError(pending)
    expect(error.detail).toContain('PendingDeletion')
    expect(error.extra).toEqual({ kekState: 'PendingDeletion' })
    expect(translateKmsError(sdkError('KMSInvalidStateException', 400, 'weird')).extra).toEqual({
      kekState: 'unknown',
    })
  })

  it('asks the caller to retry when throttled or unavailable', () => {
    expect(translateKmsError(sdkError('ThrottlingException')).headers['Retry-After']).toBe('1')
    expect(translateKmsError(sdkError('KMSInternalException', 500)).headers['Retry-After']).toBe(
      '2',
    )
  })

  it('treats errors that never got an HTTP answer as KMS unavailable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4599'), {
      code: 'ECONNREFUSED',
      $metadata: { attempts: 3, totalRetryDelay: 300 },
    })
    const timeout = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })
    expect(translateKmsError(refused).code).toBe('kms_unavailable')
    expect(translateKmsError(timeout).code).toBe('kms_unavailable')
    expect(translateKmsError(refused).message).not.toContain('127.0.0.1')
  })

  it('treats a malformed blob on Decrypt as a decryption failure', () => {
    expect(translateKmsError(sdkError('ValidationException'), 'Decrypt').code).toBe(
      'decryption_failed',
    )
    expect(translateKmsError(sdkError('ValidationException'), 'GenerateDataKey').code).toBe(
      'internal',
    )
  })

  it('gives decryption failures no detail beyond the generic title', () => {
    const error = translateKmsError(sdkError('InvalidCiphertextException'))
    expect(error.message).toBe(new AppError('decryption_failed').message)
  })

  it('returns AppErrors unchanged', () => {
    const original = new AppError('kms_throttled')
    expect(translateKmsError(original)).toBe(original)
  })
})

describe('createAwsKmsProvider (against a fake client)', () => {
  const kek = { provider: 'aws-kms', keyId: ARN, version: 1 } as const

  function fakeClient(respond: (command: unknown) => unknown) {
    const sent: unknown[] = []
    const client = {
      send: async (command: unknown) => {
        sent.push(command)
        return respond(command)
      },
    } as unknown as KMSClient
    return { client, sent }
  }

  it('sends the tenant and key as EncryptionContext and zeroes the SDK plaintext', async () => {
    const sdkPlaintext = new Uint8Array(32).fill(9)
    const { client, sent } = fakeClient(() => ({
      Plaintext: sdkPlaintext,
      CiphertextBlob: new Uint8Array([1, 2, 3]),
    }))
    const provider = createAwsKmsProvider({ client, keyId: 'alias/tenant-a', kek })
    const dataKey = await provider.generateDataKey({ tenantId: 'org_a', keyId: 'key_1' })
    expect(dataKey.plaintext.every((b) => b === 9)).toBe(true)
    expect(sdkPlaintext.every((b) => b === 0)).toBe(true)
    expect(dataKey.kek).toEqual(kek)

    await provider.unwrapDataKey(dataKey.wrapped, { tenantId: 'org_a', keyId: 'key_1' })
    const [generate, decrypt] = sent as [GenerateDataKeyCommand, DecryptCommand]
    expect(generate).toBeInstanceOf(GenerateDataKeyCommand)
    expect(generate.input).toEqual({
      KeyId: 'alias/tenant-a',
      KeySpec: 'AES_256',
      EncryptionContext: { 'keystash:tenant': 'org_a', 'keystash:key': 'key_1' },
    })
    expect(decrypt).toBeInstanceOf(DecryptCommand)
    expect(decrypt.input.EncryptionContext).toEqual(
      kmsEncryptionContext({ tenantId: 'org_a', keyId: 'key_1' }),
    )
    expect(decrypt.input.KeyId).toBe('alias/tenant-a')
  })

  it('translates SDK errors inside the adapter', async () => {
    const { client } = fakeClient(() => {
      throw sdkError('DisabledException')
    })
    const provider = createAwsKmsProvider({ client, keyId: ARN, kek })
    await expect(provider.generateDataKey({ tenantId: 'org_a' })).rejects.toMatchObject({
      code: 'kek_disabled',
    })
    await expect(
      provider.unwrapDataKey(new Uint8Array(8), { tenantId: 'org_a' }),
    ).rejects.toMatchObject({
      code: 'kek_disabled',
    })
  })

  it('refuses a decrypted blob that is not a 32-byte key', async () => {
    const { client } = fakeClient(() => ({ Plaintext: new Uint8Array(16) }))
    const provider = createAwsKmsProvider({ client, keyId: ARN, kek })
    await expect(
      provider.unwrapDataKey(new Uint8Array(8), { tenantId: 'org_a' }),
    ).rejects.toMatchObject({
      code: 'decryption_failed',
    })
  })

  it('rejects a raw KEK reference when created', () => {
    const { client } = fakeClient(() => ({}))
    expect(() =>
      createAwsKmsProvider({
        client,
        keyId: ARN,
        kek: { provider: 'raw', keyId: 'r', version: 1 },
      }),
    ).toThrow(TypeError)
  })
})
