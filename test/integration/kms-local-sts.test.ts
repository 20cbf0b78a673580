import {
  CreateKeyCommand,
  DecryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms'
import { AssumeRoleCommand, type Credentials, GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { kmsClient, platformAccessKey, rejectionOf, stsClient } from './kms-local-helpers.ts'

// A tenant's bring-your-own-key set-up: the tenant's key lives in the tenant's account and its
// policy names a role there; the platform assumes the role (with an external id) through STS
// and calls KMS with the temporary credentials.
const tenantAccount = '444455556666'
const tenantAdminKey = 'AKIATENANTADMIN0002'
const roleArn = `arn:aws:iam::${tenantAccount}:role/keystash-access`
const externalId = 'keystash-tenant-t_42'

let kms: LocalKms
let tenant: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  kms.accounts.set(tenantAdminKey, tenantAccount)
  kms.roles.register({ roleArn, externalId, allowedCallers: [platformAccessKey] })
  tenant = kmsClient(kms, { accessKeyId: tenantAdminKey })
})
afterAll(() => kms.close())

const assume = (options: { externalId?: string; accessKeyId?: string; role?: string } = {}) =>
  stsClient(kms, { accessKeyId: options.accessKeyId ?? platformAccessKey }).send(
    new AssumeRoleCommand({
      RoleArn: options.role ?? roleArn,
      RoleSessionName: 'keystash-platform',
      ExternalId: 'externalId' in options ? options.externalId : externalId,
    }),
  )

function asRole(credentials: Credentials | undefined) {
  return kmsClient(kms, {
    accessKeyId: credentials?.AccessKeyId ?? '',
    secretAccessKey: credentials?.SecretAccessKey ?? '',
    sessionToken: credentials?.SessionToken ?? '',
  })
}

// The tenant's admin is named by access key id, not by the account's root: a role session is a
// caller of the tenant's account, so `:root` would admit it whatever the rest of the policy says.
const keyPolicy = (principals: string[]) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: tenantAdminKey }, Action: 'kms:*', Resource: '*' },
      {
        Effect: 'Allow',
        Principal: { AWS: principals },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
      },
    ],
  })

async function tenantKeyFor(principals: string[]) {
  const { KeyMetadata } = await tenant.send(new CreateKeyCommand({ Policy: keyPolicy(principals) }))
  return KeyMetadata?.Arn ?? ''
}

describe('STS AssumeRole', () => {
  it('hands out temporary credentials for the right external id', async () => {
    const before = Date.now()
    const { Credentials, AssumedRoleUser } = await assume()
    expect(Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/)
    expect(Credentials?.SecretAccessKey).toBeTruthy()
    expect(Credentials?.SessionToken).toBeTruthy()
    expect(Credentials?.Expiration?.getTime()).toBeGreaterThan(before)
    expect(AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${tenantAccount}:assumed-role/keystash-access/keystash-platform`,
    )

    const identity = await stsClient(kms, {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    }).send(new GetCallerIdentityCommand({}))
    expect(identity.Account).toBe(tenantAccount)
    expect(identity.Arn).toBe(AssumedRoleUser?.Arn)
  })

  it.each([
    ['a wrong external id', { externalId: 'keystash-tenant-t_43' }],
    ['no external id', { externalId: undefined }],
    ['a caller the role does not trust', { accessKeyId: 'AKIASOMEONEELSE0001' }],
    ['a role that does not exist', { role: `arn:aws:iam::${tenantAccount}:role/nope` }],
  ])('answers AccessDenied (HTTP 403) for %s', async (_, options) => {
    const error = await rejectionOf(assume(options))
    expect(error.name).toBe('AccessDenied')
    expect(error.$metadata).toMatchObject({ httpStatusCode: 403 })
    expect(kms.calls.last()).toMatchObject({ operation: 'AssumeRole', outcome: 'AccessDenied' })
  })
})

describe('temporary credentials calling KMS', () => {
  it('belong to the role’s account, so the default key policy there admits them', async () => {
    const { KeyMetadata } = await tenant.send(new CreateKeyCommand({}))
    const { Credentials } = await assume()
    await expect(
      asRole(Credentials).send(
        new GenerateDataKeyCommand({ KeyId: KeyMetadata?.Arn, KeySpec: 'AES_256' }),
      ),
    ).resolves.toHaveProperty('KeyId', KeyMetadata?.Arn)
  })

  it('act as the role: a key policy naming the role admits them, and not the platform’s own keys', async () => {
    const arn = await tenantKeyFor([roleArn])
    const { Credentials } = await assume()
    const role = asRole(Credentials)

    const generated = await role.send(
      new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' }),
    )
    expect(generated.KeyId).toBe(arn)
    expect(kms.calls.last()).toMatchObject({
      operation: 'GenerateDataKey',
      caller: Credentials?.AccessKeyId,
      outcome: 'ok',
    })
    await expect(
      role.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob })),
    ).resolves.toBeDefined()

    const platform = kmsClient(kms)
    await expect(
      platform.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    })
  })

  it('a policy may name the session’s access key id; dropping the role revokes the platform', async () => {
    const { Credentials } = await assume()
    const arn = await tenantKeyFor([Credentials?.AccessKeyId ?? ''])
    const role = asRole(Credentials)
    const { CiphertextBlob } = await role.send(
      new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' }),
    )

    await tenant.send(
      new PutKeyPolicyCommand({
        KeyId: arn,
        Policy: keyPolicy([`arn:aws:iam::${tenantAccount}:role/other`]),
      }),
    )
    const error = await rejectionOf(role.send(new DecryptCommand({ CiphertextBlob })))
    expect(error.name).toBe('AccessDeniedException')
  })

  it('a session token that STS never issued is UnrecognizedClientException', async () => {
    const { Credentials } = await assume()
    const forged = asRole({ ...Credentials, SessionToken: 'forged-token' } as Credentials)
    const error = await rejectionOf(
      forged.send(new GenerateDataKeyCommand({ KeyId: 'alias/any', KeySpec: 'AES_256' })),
    )
    expect(error.name).toBe('UnrecognizedClientException')
  })

  it('expired sessions are ExpiredTokenException', async () => {
    const arn = await tenantKeyFor([roleArn])
    const { Credentials } = await assume()
    kms.roles.expireSessions()
    const error = await rejectionOf(
      asRole(Credentials).send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' })),
    )
    expect(error.name).toBe('ExpiredTokenException')
    // A new session works again.
    const renewed = await assume()
    await expect(
      asRole(renewed.Credentials).send(
        new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' }),
      ),
    ).resolves.toHaveProperty('KeyId', arn)
  })
})
