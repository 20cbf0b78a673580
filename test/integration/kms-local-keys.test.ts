import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  ListKeysCommand,
  ReplicateKeyCommand,
  UnsupportedOperationException,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createKey, kmsClient, platformAccessKey, rejectionOf } from './kms-local-helpers.ts'

// Key creation, metadata, listing, authentication and the call log, driven only through the SDK.
let kms: LocalKms
let client: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms)
})
afterAll(() => kms.close())

const newKey = (input: Parameters<typeof createKey>[1] = {}) => createKey(client, input)
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

  it('puts keys of callers without an account of their own in defaultAccountId', async () => {
    const other = await startLocalKms({ defaultAccountId: '210987654321' })
    try {
      const key = await createKey(kmsClient(other))
      expect(key.arn).toMatch(/^arn:aws:kms:eu-west-1:210987654321:key\//)
    } finally {
      await other.close()
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

describe('authentication', () => {
  it('rejects a request without an authorization header, as AWS does', async () => {
    const unsigned = kmsClient(kms, { maxAttempts: 1 })
    // Runs after SigV4 signing, so the request leaves without its signature.
    type Args = { request: { headers: Record<string, string> } }
    const dropAuthorization = (next: (args: Args) => Promise<unknown>) => async (args: Args) => {
      delete args.request.headers.authorization
      return next(args)
    }
    type Middleware = Parameters<typeof unsigned.middlewareStack.addRelativeTo>[0]
    unsigned.middlewareStack.addRelativeTo(dropAuthorization as unknown as Middleware, {
      relation: 'after',
      toMiddleware: 'httpSigningMiddleware',
      name: 'dropAuthorization',
    })
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
