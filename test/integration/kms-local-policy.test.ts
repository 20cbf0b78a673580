import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  type KMSClient,
  MalformedPolicyDocumentException,
  NotFoundException,
  PutKeyPolicyCommand,
  ReEncryptCommand,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { kmsClient, platformAccessKey, rejectionOf, utf8 } from './kms-local-helpers.ts'

// Key policies, modelled on a tenant who brings their own key in their own AWS account and
// grants the platform (another account) use of it.
const tenantAccount = '444455556666'
const tenantAccessKey = 'AKIATENANTADMIN0001'

let kms: LocalKms
let platform: KMSClient
let tenant: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  kms.accounts.set(tenantAccessKey, tenantAccount)
  platform = kmsClient(kms)
  tenant = kmsClient(kms, { accessKeyId: tenantAccessKey })
})
afterAll(() => kms.close())

type Statement = Record<string, unknown>
const policy = (...statements: Statement[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })
const tenantAdmin: Statement = {
  Sid: 'TenantAdmin',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${tenantAccount}:root` },
  Action: 'kms:*',
  Resource: '*',
}
const platformUse = (extra: Statement = {}): Statement => ({
  Sid: 'PlatformUse',
  Effect: 'Allow',
  Principal: { AWS: [platformAccessKey] },
  Action: ['kms:GenerateDataKey*', 'kms:Decrypt', 'kms:Encrypt', 'kms:DescribeKey'],
  Resource: '*',
  ...extra,
})

async function tenantKey(keyPolicy?: string) {
  const { KeyMetadata } = await tenant.send(
    new CreateKeyCommand(keyPolicy ? { Policy: keyPolicy } : {}),
  )
  if (!KeyMetadata?.Arn) throw new Error('CreateKey returned no ARN')
  return KeyMetadata.Arn
}

const dataKey = (KeyId: string, EncryptionContext?: Record<string, string>) =>
  new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext })

describe('default key policy', () => {
  it('allows every caller of the key’s account and no one else', async () => {
    const arn = await tenantKey()
    expect(arn).toMatch(new RegExp(`^arn:aws:kms:eu-west-1:${tenantAccount}:key/`))
    const { Policy } = await tenant.send(
      new GetKeyPolicyCommand({ KeyId: arn, PolicyName: 'default' }),
    )
    expect(JSON.parse(Policy ?? '{}').Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${tenantAccount}:root` },
        Action: 'kms:*',
      }),
    ])
    const otherTenantUser = kmsClient(kms, { accessKeyId: 'AKIATENANTOTHERUSER' })
    kms.accounts.set('AKIATENANTOTHERUSER', tenantAccount)
    await expect(otherTenantUser.send(dataKey(arn))).resolves.toHaveProperty('KeyId', arn)

    const error = await rejectionOf(platform.send(dataKey(arn)))
    expect(error.name).toBe('AccessDeniedException')
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400 })
  })

  it('another account reaches a key only by ARN: its bare id resolves in the caller’s own account', async () => {
    const arn = await tenantKey(policy(tenantAdmin, platformUse()))
    const keyId = arn.split('/').at(-1) ?? ''
    await expect(platform.send(dataKey(arn))).resolves.toHaveProperty('KeyId', arn)
    await expect(platform.send(dataKey(keyId))).rejects.toBeInstanceOf(NotFoundException)
  })
})

describe('revoking and restoring access with PutKeyPolicy', () => {
  it('the platform is denied once the tenant’s policy drops it, and works again once restored', async () => {
    const granting = policy(tenantAdmin, platformUse())
    const arn = await tenantKey(granting)
    const context = { tenantId: 't_42' }
    const { CiphertextBlob } = await platform.send(dataKey(arn, context))

    await tenant.send(
      new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: policy(tenantAdmin) }),
    )
    const denied = await rejectionOf(
      platform.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })),
    )
    expect(denied.name).toBe('AccessDeniedException')
    expect(denied.message).toContain('kms:Decrypt')
    await expect(platform.send(dataKey(arn, context))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
    expect(
      kms.calls.count({ keyId: arn, caller: platformAccessKey, outcome: 'AccessDeniedException' }),
    ).toBe(2)
    // The tenant itself is untouched.
    await expect(
      tenant.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context })),
    ).resolves.toBeDefined()

    await tenant.send(
      new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: granting }),
    )
    const restored = await platform.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: context }),
    )
    expect(restored.KeyId).toBe(arn)
    const { Policy } = await tenant.send(
      new GetKeyPolicyCommand({ KeyId: arn, PolicyName: 'default' }),
    )
    expect(Policy).toBe(granting)
  })

  it('a policy that drops the tenant itself locks the tenant out of PutKeyPolicy too', async () => {
    const arn = await tenantKey()
    await tenant.send(new PutKeyPolicyCommand({ KeyId: arn, Policy: policy(platformUse()) }))
    await expect(
      tenant.send(new PutKeyPolicyCommand({ KeyId: arn, Policy: policy(tenantAdmin) })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' })
  })
})

describe('conditions and actions', () => {
  it('a StringEquals condition on kms:EncryptionContext:<key> admits only that context', async () => {
    const condition = { StringEquals: { 'kms:EncryptionContext:tenantId': 't_42' } }
    const arn = await tenantKey(policy(tenantAdmin, platformUse({ Condition: condition })))

    const { CiphertextBlob } = await platform.send(dataKey(arn, { tenantId: 't_42', keyId: 'k_1' }))
    await expect(
      platform.send(
        new DecryptCommand({
          CiphertextBlob,
          EncryptionContext: { tenantId: 't_42', keyId: 'k_1' },
        }),
      ),
    ).resolves.toHaveProperty('KeyId', arn)
    const refused: Record<string, string>[] = [{ tenantId: 't_43' }, {}, { TenantId: 't_42x' }]
    for (const context of refused) {
      const error = await rejectionOf(platform.send(dataKey(arn, context)))
      expect(error.name).toBe('AccessDeniedException')
    }
  })

  it('a list of values admits any of them', async () => {
    const condition = { StringEquals: { 'kms:EncryptionContext:tenantId': ['t_1', 't_2'] } }
    const arn = await tenantKey(policy(tenantAdmin, platformUse({ Condition: condition })))
    await expect(platform.send(dataKey(arn, { tenantId: 't_2' }))).resolves.toBeDefined()
    await expect(platform.send(dataKey(arn, { tenantId: 't_3' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
  })

  it('action wildcards: kms:ReEncrypt* allows ReEncrypt without allowing GenerateDataKey', async () => {
    const reEncryptOnly: Statement = {
      Effect: 'Allow',
      Principal: { AWS: platformAccessKey },
      Action: ['kms:ReEncrypt*', 'kms:Encrypt'],
      Resource: '*',
    }
    const arn = await tenantKey(policy(tenantAdmin, reEncryptOnly))
    const { CiphertextBlob } = await platform.send(
      new EncryptCommand({ KeyId: arn, Plaintext: utf8('x') }),
    )
    const moved = await platform.send(
      new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: arn }),
    )
    expect(moved.KeyId).toBe(arn)
    await expect(platform.send(dataKey(arn))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
    await expect(platform.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
  })

  it('an explicit Deny wins over an Allow', async () => {
    const denyDecrypt: Statement = {
      Effect: 'Deny',
      Principal: { AWS: platformAccessKey },
      Action: 'kms:Decrypt',
      Resource: '*',
    }
    const arn = await tenantKey(policy(tenantAdmin, platformUse(), denyDecrypt))
    const { CiphertextBlob } = await platform.send(dataKey(arn))
    await expect(platform.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
  })

  it('refuses malformed policies and condition operators the local KMS cannot evaluate', async () => {
    const arn = await tenantKey()
    const bad = [
      'not json',
      JSON.stringify({ Statement: [] }),
      policy({ Effect: 'Maybe', Principal: '*', Action: 'kms:*' }),
      policy({ Effect: 'Allow', Action: 'kms:*' }),
      policy({
        ...platformUse(),
        Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } },
      }),
    ]
    for (const Policy of bad) {
      const error = await rejectionOf(tenant.send(new PutKeyPolicyCommand({ KeyId: arn, Policy })))
      expect(error).toBeInstanceOf(MalformedPolicyDocumentException)
    }
    await expect(tenant.send(new CreateKeyCommand({ Policy: 'not json' }))).rejects.toBeInstanceOf(
      MalformedPolicyDocumentException,
    )
  })
})
