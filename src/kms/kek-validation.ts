import { DescribeKeyCommand, ReEncryptCommand } from '@aws-sdk/client-kms'
import { AppError, type ErrorCode, isAppError } from '../errors.ts'
import { kmsEncryptionContext } from './aws-kms.ts'
import { translateKmsError } from './errors.ts'
import { type KmsClientPool, parseKeyArn, type RoleRef } from './kms-clients.ts'
import { createKmsKekProvider, isRegionalFailure } from './kms-kek.ts'

/**
 * Checks a tenant's KMS key before anything changes: for the key and each replica, DescribeKey
 * (symmetric, ENCRYPT_DECRYPT, enabled); then, with the tenant's encryption context, a
 * GenerateDataKey/Decrypt round trip, Encrypt, and ReEncrypt, which is every call Keystash will
 * make; every replica must open what the key sealed. Before any of that, the key and its
 * replicas must be in a region the operator allows. A failure is `kek_invalid` (422) with
 * the specific reason in `reason`; a KMS outage stays a retryable 503.
 */
export interface KmsKekSpec {
  keyArn: string
  replicaArns: string[]
  role?: RoleRef
}

const REASONS: Partial<Record<ErrorCode, string>> = {
  kek_access_denied:
    'Keystash may not use this key: the key policy (or the role) must allow kms:DescribeKey, kms:GenerateDataKey, kms:Decrypt, kms:Encrypt and kms:ReEncrypt* with your tenant id as the keystash:tenant encryption context.',
  kek_disabled: 'The key is disabled; enable it first.',
  kek_pending_deletion: 'The key is pending deletion or otherwise not usable in its current state.',
  kek_not_found: 'No such key in that account and region.',
  kek_invalid:
    'The key must be a symmetric encryption key (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).',
  decryption_failed: 'The key did not give back the data key it wrapped.',
}

function refuse(reason: ErrorCode, step: string, arn: string, cause?: unknown): AppError {
  const why = REASONS[reason] ?? 'The key failed validation.'
  return new AppError('kek_invalid', `${step} on ${arn} failed: ${why} Nothing was changed.`, {
    extra: { reason, step },
    ...(cause === undefined ? {} : { cause }),
  })
}

async function step<T>(name: string, arn: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    const translated = isAppError(error) ? error : translateKmsError(error)
    if (isRegionalFailure(translated)) throw translated
    throw refuse(translated.code === 'internal' ? 'kek_invalid' : translated.code, name, arn, error)
  }
}

/**
 * The operator's region rule: the key and every replica must live in one of `allowed`
 * (KEYSTASH_KMS_ALLOWED_REGIONS). Replica ARNs are tenant input, so they are held to it too:
 * a tenant cannot widen the list by naming a replica elsewhere.
 */
export function checkKeyRegion(arn: string, region: string, allowed: readonly string[]): void {
  if (allowed.includes(region)) return
  throw new AppError(
    'kek_invalid',
    `The key ${arn} is in ${region}; this server accepts KMS keys only in ${allowed.join(', ')}. Nothing was changed.`,
    {
      extra: {
        reason: 'kek_region_not_allowed',
        step: 'Checking the region',
        region,
        allowedRegions: [...allowed],
      },
    },
  )
}

export async function validateKmsKek(
  clients: KmsClientPool,
  tenantId: string,
  spec: KmsKekSpec,
  { allowedRegions }: { allowedRegions: readonly string[] },
) {
  const primary = parseKeyArn(spec.keyArn)
  if (!primary) throw refuse('kek_invalid', 'Parsing the key ARN', spec.keyArn)
  checkKeyRegion(spec.keyArn, primary.region, allowedRegions)
  const regions = new Set([primary.region])
  for (const arn of spec.replicaArns) {
    const replica = parseKeyArn(arn)
    if (replica) checkKeyRegion(arn, replica.region, allowedRegions)
    // A replica shares the key id and account, and lives in a region of its own.
    if (
      !replica ||
      replica.keyId !== primary.keyId ||
      replica.accountId !== primary.accountId ||
      regions.has(replica.region)
    ) {
      throw refuse('kek_invalid', 'Checking the replica ARN', arn)
    }
    regions.add(replica.region)
  }
  const target = (arn: string) => ({
    client: clients.clientFor(parseKeyArn(arn)?.region ?? primary.region, spec.role),
    keyId: arn,
  })

  for (const arn of [spec.keyArn, ...spec.replicaArns]) {
    const { client } = target(arn)
    const { KeyMetadata: m } = await step('DescribeKey', arn, () =>
      client.send(new DescribeKeyCommand({ KeyId: arn })),
    )
    const keySpec = m?.KeySpec ?? m?.CustomerMasterKeySpec
    if (keySpec !== 'SYMMETRIC_DEFAULT' || m?.KeyUsage !== 'ENCRYPT_DECRYPT') {
      throw refuse('kek_invalid', 'DescribeKey', arn)
    }
    if (m.KeyState === 'Disabled') throw refuse('kek_disabled', 'DescribeKey', arn)
    if (m.KeyState !== 'Enabled') throw refuse('kek_pending_deletion', 'DescribeKey', arn)
    if (spec.replicaArns.length > 0 && !m.MultiRegion)
      throw refuse('kek_invalid', 'DescribeKey (MultiRegion)', arn)
  }

  const kek = { provider: 'aws-kms' as const, keyId: spec.keyArn, version: 0 }
  const context = { tenantId }
  const key = createKmsKekProvider({ kek, targets: [target(spec.keyArn)] })
  const dataKey = await step('GenerateDataKey', spec.keyArn, () => key.generateDataKey(context))
  try {
    const same = (other: Buffer) => {
      const equal = other.equals(dataKey.plaintext)
      other.fill(0)
      return equal
    }
    const opened = await step('Decrypt', spec.keyArn, () =>
      key.unwrapDataKey(dataKey.wrapped, context),
    )
    if (!same(opened)) throw refuse('decryption_failed', 'Decrypt', spec.keyArn)
    const encrypted = await step('Encrypt', spec.keyArn, () =>
      key.wrapDataKey(dataKey.plaintext, context),
    )
    if (!same(await step('Decrypt', spec.keyArn, () => key.unwrapDataKey(encrypted, context)))) {
      throw refuse('decryption_failed', 'Encrypt', spec.keyArn)
    }
    await step('ReEncrypt', spec.keyArn, () =>
      target(spec.keyArn).client.send(
        new ReEncryptCommand({
          CiphertextBlob: dataKey.wrapped,
          SourceEncryptionContext: kmsEncryptionContext(context),
          DestinationKeyId: spec.keyArn,
          DestinationEncryptionContext: kmsEncryptionContext(context),
        }),
      ),
    )
    for (const arn of spec.replicaArns) {
      const replica = createKmsKekProvider({ kek, targets: [target(arn)] })
      const fromReplica = await step('Decrypt', arn, () =>
        replica.unwrapDataKey(dataKey.wrapped, context),
      )
      if (!same(fromReplica)) throw refuse('decryption_failed', 'Decrypt', arn)
    }
  } finally {
    dataKey.plaintext.fill(0)
  }
}
