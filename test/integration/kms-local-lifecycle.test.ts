import { randomUUID } from 'node:crypto'
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  InvalidAliasNameException,
  type KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createKey, kmsClient, rejectionOf, utf8 } from './kms-local-helpers.ts'

// Aliases, missing keys and key states (disabled, pending deletion), driven only through the SDK.
let kms: LocalKms
let client: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms)
})
afterAll(() => kms.close())

const newKey = (input: Parameters<typeof createKey>[1] = {}) => createKey(client, input)
const dataKey = (KeyId: string) => new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })

describe('not found', () => {
  it('answers NotFoundException for unknown ids, aliases and keys of another region', async () => {
    const key = await newKey()
    const unknown = [
      randomUUID(),
      'alias/no-such-alias',
      `arn:aws:kms:eu-west-1:111122223333:key/${randomUUID()}`,
    ]
    for (const KeyId of unknown) {
      const error = await rejectionOf(client.send(new DescribeKeyCommand({ KeyId })))
      expect(error).toBeInstanceOf(NotFoundException)
      expect(error.name).toBe('NotFoundException')
      expect(error.$metadata).toMatchObject({ httpStatusCode: 400 })
    }
    const usEast = kmsClient(kms, { region: 'us-east-1' })
    await expect(usEast.send(dataKey(key.keyId))).rejects.toBeInstanceOf(NotFoundException)
    await expect(usEast.send(dataKey(key.arn))).rejects.toBeInstanceOf(NotFoundException)
  })
})

describe('aliases', () => {
  it('an alias names its key in every operation, by name or by ARN', async () => {
    const key = await newKey()
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/keystash-platform', TargetKeyId: key.arn }),
    )
    const generated = await client.send(dataKey('alias/keystash-platform'))
    expect(generated.KeyId).toBe(key.arn)
    const encrypted = await client.send(
      new EncryptCommand({
        KeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/keystash-platform',
        Plaintext: utf8('x'),
      }),
    )
    expect(encrypted.KeyId).toBe(key.arn)
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob }),
    )
    expect(decrypted.KeyId).toBe(key.arn)
  })

  it('ListAliases shows aliases with their target, filtered by key', async () => {
    const key = await newKey()
    const other = await newKey()
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/listed-a', TargetKeyId: key.keyId }),
    )
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/listed-b', TargetKeyId: key.keyId }),
    )
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/listed-other', TargetKeyId: other.keyId }),
    )

    const { Aliases } = await client.send(new ListAliasesCommand({ KeyId: key.keyId }))
    expect(Aliases?.map((a) => a.AliasName)).toEqual(['alias/listed-a', 'alias/listed-b'])
    expect(Aliases?.[0]).toMatchObject({
      AliasArn: 'arn:aws:kms:eu-west-1:111122223333:alias/listed-a',
      TargetKeyId: key.keyId,
    })
    expect(Aliases?.[0]?.CreationDate).toBeInstanceOf(Date)
    const all = await client.send(new ListAliasesCommand({}))
    expect(all.Aliases?.map((a) => a.AliasName)).toContain('alias/listed-other')
  })

  it('refuses a duplicate alias, a malformed name, and an unknown target', async () => {
    const key = await newKey()
    await client.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: key.keyId }))
    await expect(
      client.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: key.keyId })),
    ).rejects.toBeInstanceOf(AlreadyExistsException)
    await expect(
      client.send(new CreateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: key.keyId })),
    ).rejects.toBeInstanceOf(InvalidAliasNameException)
    await expect(
      client.send(new CreateAliasCommand({ AliasName: 'alias/orphan', TargetKeyId: randomUUID() })),
    ).rejects.toBeInstanceOf(NotFoundException)
  })

  it('aliases belong to a region: the same name resolves nowhere else', async () => {
    const key = await newKey()
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/regional', TargetKeyId: key.keyId }),
    )
    const usEast = kmsClient(kms, { region: 'us-east-1' })
    await expect(usEast.send(dataKey('alias/regional'))).rejects.toBeInstanceOf(NotFoundException)
  })
})

describe('key state', () => {
  it('a disabled key refuses cryptographic operations with DisabledException until enabled again', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') }),
    )
    await client.send(new DisableKeyCommand({ KeyId: key.keyId }))

    const described = await client.send(new DescribeKeyCommand({ KeyId: key.keyId }))
    expect(described.KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false })
    await expect(client.send(dataKey(key.keyId))).rejects.toBeInstanceOf(DisabledException)
    await expect(
      client.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') })),
    ).rejects.toBeInstanceOf(DisabledException)
    await expect(client.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(
      DisabledException,
    )

    await client.send(new EnableKeyCommand({ KeyId: key.keyId }))
    await expect(client.send(new DecryptCommand({ CiphertextBlob }))).resolves.toHaveProperty(
      'KeyId',
      key.arn,
    )
  })

  it('a key pending deletion is KMSInvalidStateException for use and for EnableKey', async () => {
    const key = await newKey()
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') }),
    )
    const before = Date.now()
    const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId }))
    expect(scheduled).toMatchObject({
      KeyId: key.arn,
      KeyState: 'PendingDeletion',
      PendingWindowInDays: 30,
    })
    const days = ((scheduled.DeletionDate?.getTime() ?? 0) - before) / 86_400_000
    expect(days).toBeGreaterThan(29.9)
    expect(days).toBeLessThan(30.1)

    const described = await client.send(new DescribeKeyCommand({ KeyId: key.keyId }))
    expect(described.KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false })
    expect(described.KeyMetadata?.DeletionDate).toBeInstanceOf(Date)
    const attempts = [
      () => client.send(dataKey(key.keyId)),
      () => client.send(new EnableKeyCommand({ KeyId: key.keyId })),
    ]
    for (const attempt of attempts) {
      const error = await rejectionOf(attempt())
      expect(error).toBeInstanceOf(KMSInvalidStateException)
    }
    await expect(client.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(
      KMSInvalidStateException,
    )
    await expect(
      client.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId })),
    ).rejects.toBeInstanceOf(KMSInvalidStateException)
  })

  it('PendingWindowInDays must be 7 to 30', async () => {
    const key = await newKey()
    for (const PendingWindowInDays of [6, 31]) {
      const error = await rejectionOf(
        client.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays })),
      )
      expect(error.name).toBe('ValidationException')
    }
    const scheduled = await client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }),
    )
    expect(scheduled.PendingWindowInDays).toBe(7)
  })

  it('CancelKeyDeletion brings a key back Disabled, like AWS; it must be enabled to be used', async () => {
    const key = await newKey()
    await expect(
      client.send(new CancelKeyDeletionCommand({ KeyId: key.keyId })),
    ).rejects.toBeInstanceOf(KMSInvalidStateException)
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }))
    const cancelled = await client.send(new CancelKeyDeletionCommand({ KeyId: key.keyId }))
    expect(cancelled.KeyId).toBe(key.arn)

    const described = await client.send(new DescribeKeyCommand({ KeyId: key.keyId }))
    expect(described.KeyMetadata?.KeyState).toBe('Disabled')
    expect(described.KeyMetadata?.DeletionDate).toBeUndefined()
    await expect(client.send(dataKey(key.keyId))).rejects.toBeInstanceOf(DisabledException)
    await client.send(new EnableKeyCommand({ KeyId: key.keyId }))
    await expect(client.send(dataKey(key.keyId))).resolves.toHaveProperty('KeyId', key.arn)
  })
})
