import { randomBytes } from 'node:crypto'
import {
  CreateKeyCommand,
  type CreateKeyCommandInput,
  KMSClient,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
} from '@aws-sdk/client-kms'
import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { client, Stack } from './stack.ts'

/**
 * A tenant's own AWS account in the local KMS, for bring-your-own-key tests: its admin creates
 * keys there and writes their key policies; the Keystash server calls them as the platform
 * account (the stack's development credentials, account 111122223333).
 */
export const TENANT_ACCOUNT = '444455556666'
export const TENANT_ADMIN = 'AKIATENANTADMIN00042'
export const PLATFORM_ROOT = 'arn:aws:iam::111122223333:root'

export function tenantKms(kms: LocalKms, region = 'us-east-1'): KMSClient {
  kms.accounts.set(TENANT_ADMIN, TENANT_ACCOUNT)
  return new KMSClient({
    region,
    endpoint: kms.url,
    credentials: { accessKeyId: TENANT_ADMIN, secretAccessKey: 'tenant-admin-secret' },
  })
}

/**
 * The key policy docs/byok.md asks for: the tenant's admin keeps control; Keystash may use the
 * key only with the tenant's id as encryption context, and may describe it.
 */
export function byokPolicy(tenantId: string, principals: string[] = [PLATFORM_ROOT]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: TENANT_ADMIN }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'KeystashUse',
        Effect: 'Allow',
        Principal: { AWS: principals },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:keystash:tenant': tenantId } },
      },
      {
        Sid: 'KeystashDescribe',
        Effect: 'Allow',
        Principal: { AWS: principals },
        Action: 'kms:DescribeKey',
        Resource: '*',
      },
    ],
  })
}

/** The same, with Keystash taken out: what a tenant revoking access writes. */
export const adminOnlyPolicy = () =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: TENANT_ADMIN }, Action: 'kms:*', Resource: '*' },
    ],
  })

export async function createTenantKey(
  tenant: KMSClient,
  policy: string,
  input: CreateKeyCommandInput = {},
): Promise<string> {
  const { KeyMetadata } = await tenant.send(new CreateKeyCommand({ Policy: policy, ...input }))
  if (!KeyMetadata?.Arn) throw new Error('CreateKey returned no ARN')
  return KeyMetadata.Arn
}

export async function replicate(tenant: KMSClient, arn: string, region: string, policy: string) {
  const { ReplicaKeyMetadata } = await tenant.send(
    new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: region, Policy: policy }),
  )
  if (!ReplicaKeyMetadata?.Arn) throw new Error('ReplicateKey returned no ARN')
  return ReplicaKeyMetadata.Arn
}

export const setPolicy = (tenant: KMSClient, arn: string, policy: string) =>
  tenant.send(new PutKeyPolicyCommand({ KeyId: arn, Policy: policy }))

/** Fresh raw key material, as a tenant would generate it. */
export const rawMaterial = () => randomBytes(32).toString('base64')

/** The key id part of a key ARN, as the local KMS call log records it. */
export const keyIdOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1)

type Api = ReturnType<typeof client>

/** Waits for the instance's jobs to end, then returns the tenant's latest job. */
export async function settledJob(stack: Pick<Stack, 'deps'>, api: Api, session: string) {
  await stack.deps.reencryption.idle()
  const view = (await api.get('/v1/org/encryption', session)).body
  return view.job as {
    id: string
    status: string
    total: number
    done: number
    failed: number
    failures: Array<{ keyId: string; version: number; code: string }>
  }
}

/** Every key version item of a tenant, straight from the table. */
export async function versionItems(stack: Pick<Stack, 'table'>, tenantId: string) {
  const { Items } = await stack.table.doc.send(
    new QueryCommand({
      TableName: stack.table.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `ORG#${tenantId}`, ':prefix': 'KEY' },
      ConsistentRead: true,
    }),
  )
  return (Items ?? []) as Array<Record<string, any>>
}
