import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  type KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createKey, kmsClient, rejectionOf, text, utf8 } from './kms-local-helpers.ts'

// Data keys and Encrypt/Decrypt/ReEncrypt round trips, driven only through @aws-sdk/client-kms.
let kms: LocalKms
let client: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms)
})
afterAll(() => kms.close())

const newKey = (input: Parameters<typeof createKey>[1] = {}) => createKey(client, input)
const context = { tenantId: 't_123', keyId: 'k_456' }

describe('data keys', () => {
  it('GenerateDataKey returns a plaintext key that Decrypt gives back from the ciphertext', async () => {
    const key = await newKey()
    const generated = await client.send(
      new GenerateDataKeyCommand({
        KeyId: key.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    )
    expect(generated.KeyId).toBe(key.arn)
    expect(generated.Plaintext).toHaveLength(32)
    expect(
      Buffer.from(generated.CiphertextBlob ?? []).includes(Buffer.from(generated.Plaintext ?? [])),
    ).toBe(false)

    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    )
    expect(
      Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(generated.Plaintext ?? [])),
    ).toBe(true)
    expect(decrypted.KeyId).toBe(key.arn)
    expect(decrypted.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT')
  })

  it('sizes data keys by KeySpec or NumberOfBytes, and wants exactly one of them', async () => {
    const key = await newKey()
    const aes128 = await client.send(
      new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_128' }),
    )
    expect(aes128.Plaintext).toHaveLength(16)
    const bytes = await client.send(
      new GenerateDataKeyCommand({ KeyId: key.keyId, NumberOfBytes: 64 }),
    )
    expect(bytes.Plaintext).toHaveLength(64)
    const neither = await rejectionOf(client.send(new GenerateDataKeyCommand({ KeyId: key.keyId })))
    expect(neither.name).toBe('ValidationException')
  })

  it('GenerateDataKeyWithoutPlaintext returns only a ciphertext, which Decrypt opens', async () => {
    const key = await newKey()
    const generated = await client.send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: key.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    )
    expect(generated).not.toHaveProperty('Plaintext')
    expect(generated.KeyId).toBe(key.arn)
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    )
    expect(decrypted.Plaintext).toHaveLength(32)
  })
})

describe('Encrypt, Decrypt and ReEncrypt', () => {
  it('round-trips a small plaintext through Encrypt and Decrypt', async () => {
    const key = await newKey()
    const encrypted = await client.send(
      new EncryptCommand({
        KeyId: key.keyId,
        Plaintext: utf8('sk-live-secret'),
        EncryptionContext: context,
      }),
    )
    expect(encrypted.KeyId).toBe(key.arn)
    expect(encrypted.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT')
    expect(Buffer.from(encrypted.CiphertextBlob ?? []).toString('latin1')).not.toContain(
      'sk-live-secret',
    )
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context }),
    )
    expect(text(decrypted.Plaintext)).toBe('sk-live-secret')
  })

  it('refuses plaintexts over 4 KiB, as KMS does', async () => {
    const key = await newKey()
    const error = await rejectionOf(
      client.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: new Uint8Array(4097) })),
    )
    expect(error.name).toBe('ValidationException')
  })

  it('ReEncrypt moves a ciphertext to another key and context without exposing the plaintext', async () => {
    const source = await newKey()
    const destination = await newKey()
    const encrypted = await client.send(
      new EncryptCommand({
        KeyId: source.keyId,
        Plaintext: utf8('payload'),
        EncryptionContext: context,
      }),
    )
    const newContext = { tenantId: 't_123', keyId: 'k_456', version: '2' }
    const reEncrypted = await client.send(
      new ReEncryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        SourceEncryptionContext: context,
        DestinationKeyId: destination.keyId,
        DestinationEncryptionContext: newContext,
      }),
    )
    expect(reEncrypted.SourceKeyId).toBe(source.arn)
    expect(reEncrypted.KeyId).toBe(destination.arn)
    expect(reEncrypted).not.toHaveProperty('Plaintext')

    const decrypted = await client.send(
      new DecryptCommand({
        CiphertextBlob: reEncrypted.CiphertextBlob,
        EncryptionContext: newContext,
      }),
    )
    expect(text(decrypted.Plaintext)).toBe('payload')
    expect(decrypted.KeyId).toBe(destination.arn)
    // The new blob is bound to the new context and the new key.
    await expect(
      client.send(
        new DecryptCommand({
          CiphertextBlob: reEncrypted.CiphertextBlob,
          EncryptionContext: context,
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidCiphertextException)
    await expect(
      client.send(
        new DecryptCommand({
          CiphertextBlob: reEncrypted.CiphertextBlob,
          EncryptionContext: newContext,
          KeyId: source.keyId,
        }),
      ),
    ).rejects.toBeInstanceOf(IncorrectKeyException)
  })

  it('ReEncrypt with the wrong source context fails like Decrypt does', async () => {
    const key = await newKey()
    const encrypted = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x'), EncryptionContext: context }),
    )
    const error = await rejectionOf(
      client.send(
        new ReEncryptCommand({
          CiphertextBlob: encrypted.CiphertextBlob,
          SourceEncryptionContext: { tenantId: 't_other' },
          DestinationKeyId: key.keyId,
        }),
      ),
    )
    expect(error).toBeInstanceOf(InvalidCiphertextException)
  })
})
