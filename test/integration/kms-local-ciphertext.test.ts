import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  type KMSClient,
  ReplicateKeyCommand,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createKey, kmsClient, rejectionOf, text, utf8 } from './kms-local-helpers.ts'

// What a ciphertext is bound to (context, key, key spec, region), driven only through the SDK.
let kms: LocalKms
let client: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms)
})
afterAll(() => kms.close())

const newKey = (input: Parameters<typeof createKey>[1] = {}) => createKey(client, input)
const context = { tenantId: 't_123', keyId: 'k_456' }

describe('encryption context is bound to the ciphertext', () => {
  it('opens only with the exact context: not another value, not none, not an extra pair', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await client.send(
      new GenerateDataKeyCommand({
        KeyId: key.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    )
    const attempts: Array<Record<string, string> | undefined> = [
      { tenantId: 't_999', keyId: 'k_456' },
      undefined,
      {},
      { ...context, extra: 'x' },
      { tenantId: 't_123' },
    ]
    for (const EncryptionContext of attempts) {
      await expect(
        client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })),
      ).rejects.toBeInstanceOf(InvalidCiphertextException)
    }
    // Order of the pairs does not matter, as in KMS.
    const reordered = { keyId: 'k_456', tenantId: 't_123' }
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: reordered })),
    ).resolves.toHaveProperty('KeyId', key.arn)
  })

  it('a ciphertext made without context does not open with one', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') }),
    )
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException)
    await expect(client.send(new DecryptCommand({ CiphertextBlob }))).resolves.toHaveProperty(
      'KeyId',
      key.arn,
    )
  })

  it('a tampered or foreign ciphertext is InvalidCiphertextException', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') }),
    )
    const tampered = Uint8Array.from(CiphertextBlob ?? [])
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob: tampered })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException)
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob: utf8('not a kms ciphertext at all') })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException)
  })
})

describe('which key a ciphertext names', () => {
  it('Decrypt needs no KeyId: the blob names its key', async () => {
    const first = await newKey()
    const second = await newKey()
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: second.keyId, Plaintext: utf8('from second') }),
    )
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob }))
    expect(decrypted.KeyId).toBe(second.arn)
    expect(decrypted.KeyId).not.toBe(first.arn)
    expect(text(decrypted.Plaintext)).toBe('from second')
  })

  it('Decrypt with the KeyId of another key is IncorrectKeyException; the right one (by alias too) works', async () => {
    const right = await newKey()
    const wrong = await newKey()
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/crypto-right', TargetKeyId: right.keyId }),
    )
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: right.keyId, Plaintext: utf8('x') }),
    )

    const error = await rejectionOf(
      client.send(new DecryptCommand({ CiphertextBlob, KeyId: wrong.arn })),
    )
    expect(error).toBeInstanceOf(IncorrectKeyException)
    expect(error.name).toBe('IncorrectKeyException')
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob, KeyId: 'alias/crypto-right' })),
    ).resolves.toHaveProperty('KeyId', right.arn)
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob, KeyId: right.arn })),
    ).resolves.toHaveProperty('KeyId', right.arn)
  })
})

describe('key spec', () => {
  it.each([
    ['RSA_2048', undefined, 'ENCRYPT_DECRYPT'],
    ['RSA_2048', 'SIGN_VERIFY', 'SIGN_VERIFY'],
    ['HMAC_256', 'GENERATE_VERIFY_MAC', 'GENERATE_VERIFY_MAC'],
  ] as const)(
    'a %s key (%s) exists but cannot wrap data keys: InvalidKeyUsageException',
    async (spec, usage, expectedUsage) => {
      const key = await newKey({ KeySpec: spec, ...(usage && { KeyUsage: usage }) })
      const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: key.keyId }))
      expect(KeyMetadata?.KeySpec).toBe(spec)
      expect(KeyMetadata?.KeyUsage).toBe(expectedUsage)
      expect(KeyMetadata?.KeyState).toBe('Enabled')

      const attempts = [
        () => client.send(new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256' })),
        () =>
          client.send(
            new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.keyId, KeySpec: 'AES_256' }),
          ),
        () => client.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') })),
      ]
      for (const attempt of attempts) {
        const error = await rejectionOf(attempt())
        expect(error).toBeInstanceOf(InvalidKeyUsageException)
      }
    },
  )

  it('refuses a key usage the key spec cannot have', async () => {
    const error = await rejectionOf(
      client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' })),
    )
    expect(error.name).toBe('ValidationException')
  })
})

describe('multi-Region keys', () => {
  it("a replica decrypts its primary's ciphertext in the replica's region", async () => {
    const primary = await newKey({ MultiRegion: true })
    expect(primary.keyId).toMatch(/^mrk-[0-9a-f]{32}$/)
    const { ReplicaKeyMetadata } = await client.send(
      new ReplicateKeyCommand({ KeyId: primary.keyId, ReplicaRegion: 'us-east-1' }),
    )
    const replicaArn = `arn:aws:kms:us-east-1:111122223333:key/${primary.keyId}`
    expect(ReplicaKeyMetadata?.Arn).toBe(replicaArn)

    const generated = await client.send(
      new GenerateDataKeyCommand({
        KeyId: primary.arn,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    )
    const usEast = kmsClient(kms, { region: 'us-east-1' })
    const decrypted = await usEast.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    )
    expect(decrypted.KeyId).toBe(replicaArn)
    expect(
      Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(generated.Plaintext ?? [])),
    ).toBe(true)
    expect(kms.calls.last({ operation: 'Decrypt' })).toMatchObject({
      region: 'us-east-1',
      keyId: primary.keyId,
    })
    // The context binding holds in the replica's region too.
    await expect(
      usEast.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException)
  })

  it('a single-Region key’s ciphertext does not open in another region', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') }),
    )
    const usEast = kmsClient(kms, { region: 'us-east-1' })
    await expect(usEast.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    )
  })
})
