import { randomUUID } from 'node:crypto'
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
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
  ListKeysCommand,
  NotFoundException,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  UnsupportedOperationException,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { kmsClient, platformAccessKey, rejectionOf, utf8 } from './kms-local-helpers.ts'

// Key lifecycle, metadata, aliases and listing, driven only through @aws-sdk/client-kms.
let kms: LocalKms
let client: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms)
})
afterAll(() => kms.close())

async function newKey(input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) {
  const { KeyMetadata } = await client.send(new CreateKeyCommand(input))
  if (!KeyMetadata?.KeyId || !KeyMetadata.Arn) throw new Error('CreateKey returned no metadata')
  return { keyId: KeyMetadata.KeyId, arn: KeyMetadata.Arn }
}

const dataKey = (KeyId: string) => new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })

describe('CreateKey and DescribeKey', () => {
  it('creates an enabled symmetric key in the caller’s region and account', async () => {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'platform KEK' }))
    expect(KeyMetadata).toMatchObject({
      AWSAccountId: '111122223333',
      Description: 'platform KEK',
      Enabled: true,
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
      Origin: 'AWS_KMS',
    })
    expect(KeyMetadata?.KeyId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    )
    expect(KeyMetadata?.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${KeyMetadata?.KeyId}`)
    expect(KeyMetadata?.CreationDate).toBeInstanceOf(Date)
    expect(KeyMetadata?.MultiRegionConfiguration).toBeUndefined()
  })

  it('finds a key by id, ARN, alias name and alias ARN', async () => {
    const key = await newKey()
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/describe-me', TargetKeyId: key.keyId }),
    )
    const names = [
      key.keyId,
      key.arn,
      'alias/describe-me',
      'arn:aws:kms:eu-west-1:111122223333:alias/describe-me',
    ]
    for (const KeyId of names) {
      const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId }))
      expect(KeyMetadata?.KeyId).toBe(key.keyId)
    }
  })

  it('describes a multi-Region primary and its replica', async () => {
    const primary = await newKey({ MultiRegion: true })
    const described = await client.send(new DescribeKeyCommand({ KeyId: primary.keyId }))
    expect(described.KeyMetadata).toMatchObject({
      MultiRegion: true,
      MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', ReplicaKeys: [] },
    })

    await client.send(
      new ReplicateKeyCommand({ KeyId: primary.keyId, ReplicaRegion: 'ap-southeast-2' }),
    )
    const replicaArn = `arn:aws:kms:ap-southeast-2:111122223333:key/${primary.keyId}`
    const sydney = kmsClient(kms, { region: 'ap-southeast-2' })
    const replica = await sydney.send(new DescribeKeyCommand({ KeyId: primary.keyId }))
    expect(replica.KeyMetadata).toMatchObject({
      Arn: replicaArn,
      KeyId: primary.keyId,
      KeyState: 'Enabled',
      MultiRegion: true,
      MultiRegionConfiguration: {
        MultiRegionKeyType: 'REPLICA',
        PrimaryKey: { Arn: primary.arn, Region: 'eu-west-1' },
      },
    })
    const again = await client.send(new DescribeKeyCommand({ KeyId: primary.keyId }))
    expect(again.KeyMetadata?.MultiRegionConfiguration?.ReplicaKeys).toEqual([
      { Arn: replicaArn, Region: 'ap-southeast-2' },
    ])
  })

  it('ReplicateKey refuses single-Region keys and a second replica in the same region', async () => {
    const single = await newKey()
    await expect(
      client.send(new ReplicateKeyCommand({ KeyId: single.keyId, ReplicaRegion: 'us-east-1' })),
    ).rejects.toBeInstanceOf(UnsupportedOperationException)
    const multi = await newKey({ MultiRegion: true })
    await client.send(new ReplicateKeyCommand({ KeyId: multi.keyId, ReplicaRegion: 'us-east-1' }))
    await expect(
      client.send(new ReplicateKeyCommand({ KeyId: multi.keyId, ReplicaRegion: 'us-east-1' })),
    ).rejects.toBeInstanceOf(AlreadyExistsException)
  })

  it('a replica has its own state: disabling it leaves the primary working', async () => {
    const primary = await newKey({ MultiRegion: true })
    await client.send(new ReplicateKeyCommand({ KeyId: primary.keyId, ReplicaRegion: 'us-west-2' }))
    const oregon = kmsClient(kms, { region: 'us-west-2' })
    await oregon.send(new DisableKeyCommand({ KeyId: primary.keyId }))
    await expect(oregon.send(dataKey(primary.keyId))).rejects.toBeInstanceOf(DisabledException)
    await expect(client.send(dataKey(primary.keyId))).resolves.toHaveProperty('KeyId', primary.arn)
  })
})

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

describe('ListKeys', () => {
  it('lists the keys of the caller’s account and region, page by page', async () => {
    const tenant = 'AKIALISTKEYSTENANT1'
    kms.accounts.set(tenant, '999988887777')
    const tenantClient = kmsClient(kms, { accessKeyId: tenant, region: 'sa-east-1' })
    const created = [
      await tenantClient.send(new CreateKeyCommand({})),
      await tenantClient.send(new CreateKeyCommand({})),
    ]
    const ids = created.map((c) => c.KeyMetadata?.KeyId)
    // Noise in another account and another region.
    await newKey()
    await kmsClient(kms, { accessKeyId: tenant, region: 'eu-west-1' }).send(
      new CreateKeyCommand({}),
    )

    const first = await tenantClient.send(new ListKeysCommand({ Limit: 1 }))
    expect(first.Truncated).toBe(true)
    expect(first.NextMarker).toBeDefined()
    const second = await tenantClient.send(
      new ListKeysCommand({ Limit: 1, Marker: first.NextMarker }),
    )
    expect(second.Truncated).toBe(false)
    const listed = [...(first.Keys ?? []), ...(second.Keys ?? [])]
    expect(listed.map((k) => k.KeyId).sort()).toEqual([...ids].sort())
    expect(listed[0]?.KeyArn).toMatch(/^arn:aws:kms:sa-east-1:999988887777:key\//)
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
    for (const command of [dataKey(key.keyId), new EnableKeyCommand({ KeyId: key.keyId })]) {
      // biome-ignore lint/suspicious/noExplicitAny: two command types, one client.send overload each
      const error = await rejectionOf(client.send(command as any))
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

describe('authentication', () => {
  it('rejects a request without an authorization header, as AWS does', async () => {
    const unsigned = kmsClient(kms, { maxAttempts: 1 })
    // Runs after SigV4 signing, so the request leaves without its signature.
    unsigned.middlewareStack.addRelativeTo(
      (next: (args: { request: { headers: Record<string, string> } }) => Promise<unknown>) =>
        async (args: { request: { headers: Record<string, string> } }) => {
          delete args.request.headers.authorization
          return next(args)
        },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'dropAuthorization' },
    )
    const error = await rejectionOf(unsigned.send(new ListKeysCommand({})))
    expect(error.name).toBe('MissingAuthenticationTokenException')
    expect(kms.calls.last()).toMatchObject({
      operation: 'ListKeys',
      caller: '',
      outcome: 'MissingAuthenticationTokenException',
    })
  })
})

describe('call log', () => {
  beforeEach(() => kms.calls.reset())

  it('records every call with its resolved key, region, caller and outcome', async () => {
    const key = await newKey()
    await client.send(new CreateAliasCommand({ AliasName: 'alias/logged', TargetKeyId: key.keyId }))
    await client.send(dataKey('alias/logged'))
    await rejectionOf(client.send(new DescribeKeyCommand({ KeyId: 'alias/not-there' })))

    expect(kms.calls.map((c) => c.operation)).toEqual([
      'CreateKey',
      'CreateAlias',
      'GenerateDataKey',
      'DescribeKey',
    ])
    expect(kms.calls[2]).toMatchObject({
      operation: 'GenerateDataKey',
      keyId: key.keyId,
      region: 'eu-west-1',
      caller: platformAccessKey,
      outcome: 'ok',
    })
    expect(kms.calls[3]).toMatchObject({ keyId: undefined, outcome: 'NotFoundException' })
    expect(kms.calls.count({ keyId: key.arn })).toBe(3)
    expect(kms.calls.count({ operation: 'GenerateDataKey', keyId: key.keyId })).toBe(1)
    expect(kms.calls.count({ outcome: 'NotFoundException' })).toBe(1)

    kms.calls.reset()
    expect(kms.calls).toHaveLength(0)
    expect(kms.calls.count({ keyId: key.keyId })).toBe(0)
  })
})
