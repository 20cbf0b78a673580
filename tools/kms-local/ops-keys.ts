import { randomBytes, randomUUID } from 'node:crypto'
import { authorize, type OpContext, requireNotPendingDeletion, resolveKey } from './access.ts'
import { newKeyMaterial } from './crypto.ts'
import { invalidState, KmsError, validation } from './errors.ts'
import {
  type Input,
  oneOf,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalText,
  requiredString,
} from './input.ts'
import { type KeySpec, type KmsKey, keyArn, keySpecs } from './keys.ts'
import { keyMetadata, paginate } from './metadata.ts'
import { defaultKeyPolicy, parsePolicy } from './policy.ts'

/** Key management operations: lifecycle, metadata, policies, multi-Region replicas. */
type Handler = (input: Input, ctx: OpContext) => Record<string, unknown>

const day = 24 * 60 * 60 * 1000

const CreateKey: Handler = (input, ctx) => {
  const spec =
    oneOf(input, 'KeySpec', Object.keys(keySpecs) as KeySpec[]) ??
    oneOf(input, 'CustomerMasterKeySpec', Object.keys(keySpecs) as KeySpec[]) ??
    'SYMMETRIC_DEFAULT'
  const allowedUsages: readonly string[] = keySpecs[spec]
  // AWS wants KeyUsage spelled out for non-default specs; defaulting it is friendlier here.
  const keyUsage = optionalString(input, 'KeyUsage') ?? allowedUsages[0] ?? 'ENCRYPT_DECRYPT'
  if (!allowedUsages.includes(keyUsage)) {
    throw validation(`KeyUsage ${keyUsage} is not compatible with KeySpec ${spec}.`)
  }
  const origin = optionalString(input, 'Origin') ?? 'AWS_KMS'
  if (origin !== 'AWS_KMS')
    throw new KmsError(
      'UnsupportedOperationException',
      `The local KMS only supports Origin AWS_KMS.`,
    )
  const policy = optionalString(input, 'Policy') ?? defaultKeyPolicy(ctx.caller.accountId)
  parsePolicy(policy)
  const multiRegion = optionalBoolean(input, 'MultiRegion')
  const keyId = multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID()
  const { accountId, region } = ctx.caller
  const key: KmsKey = {
    keyId,
    accountId,
    region,
    arn: keyArn(region, accountId, keyId),
    keySpec: spec,
    keyUsage,
    description: optionalText(input, 'Description') ?? '',
    creationDate: ctx.now(),
    state: 'Enabled',
    multiRegion,
    ...(multiRegion && { primaryRegion: region }),
    ...(spec === 'SYMMETRIC_DEFAULT' && { material: newKeyMaterial().toString('base64') }),
    policy,
  }
  ctx.store.saveKey(key)
  return { KeyMetadata: keyMetadata(key, ctx.store) }
}

const DescribeKey: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  authorize(ctx, key, 'kms:DescribeKey')
  return { KeyMetadata: keyMetadata(key, ctx.store) }
}

const ListKeys: Handler = (input, ctx) => {
  const keys = ctx.store.listKeys(ctx.caller.accountId, ctx.caller.region)
  const { page, more } = paginate(keys, input)
  return { Keys: page.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...more }
}

const EnableKey: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  authorize(ctx, key, 'kms:EnableKey')
  requireNotPendingDeletion(key)
  key.state = 'Enabled'
  ctx.store.saveKey(key)
  return {}
}

const DisableKey: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  authorize(ctx, key, 'kms:DisableKey')
  requireNotPendingDeletion(key)
  key.state = 'Disabled'
  ctx.store.saveKey(key)
  return {}
}

const ScheduleKeyDeletion: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  const days = optionalInteger(input, 'PendingWindowInDays', 7, 30) ?? 30
  authorize(ctx, key, 'kms:ScheduleKeyDeletion')
  requireNotPendingDeletion(key)
  key.state = 'PendingDeletion'
  key.pendingWindowInDays = days
  key.deletionDate = ctx.now() + days * day
  ctx.store.saveKey(key)
  return {
    KeyId: key.arn,
    DeletionDate: key.deletionDate / 1000,
    KeyState: key.state,
    PendingWindowInDays: days,
  }
}

/** Like AWS, a key taken back from deletion comes back Disabled, not Enabled. */
const CancelKeyDeletion: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  authorize(ctx, key, 'kms:CancelKeyDeletion')
  if (key.state !== 'PendingDeletion') throw invalidState(`${key.arn} is not pending deletion.`)
  key.state = 'Disabled'
  delete key.deletionDate
  delete key.pendingWindowInDays
  ctx.store.saveKey(key)
  return { KeyId: key.arn }
}

/** The replica shares the key id and material and gets its own ARN, state and policy. */
const ReplicateKey: Handler = (input, ctx) => {
  const primary = resolveKey(ctx, requiredString(input, 'KeyId'))
  const replicaRegion = requiredString(input, 'ReplicaRegion')
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(replicaRegion)) {
    throw validation(`ReplicaRegion ${replicaRegion} is not a valid region name.`)
  }
  authorize(ctx, primary, 'kms:ReplicateKey')
  if (!primary.multiRegion || primary.primaryRegion !== primary.region) {
    throw new KmsError(
      'UnsupportedOperationException',
      `${primary.arn} is not a multi-Region primary key.`,
    )
  }
  requireNotPendingDeletion(primary)
  if (ctx.store.getKey(primary.accountId, replicaRegion, primary.keyId)) {
    throw new KmsError(
      'AlreadyExistsException',
      `${primary.keyId} already has a replica in ${replicaRegion}.`,
    )
  }
  const policy = optionalString(input, 'Policy') ?? defaultKeyPolicy(primary.accountId)
  parsePolicy(policy)
  const replica: KmsKey = {
    ...primary,
    region: replicaRegion,
    arn: keyArn(replicaRegion, primary.accountId, primary.keyId),
    description: optionalText(input, 'Description') ?? primary.description,
    creationDate: ctx.now(),
    state: 'Enabled',
    policy,
  }
  ctx.store.saveKey(replica)
  return {
    ReplicaKeyMetadata: keyMetadata(replica, ctx.store),
    ReplicaPolicy: policy,
    ReplicaTags: [],
  }
}

const PutKeyPolicy: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  const policy = requiredString(input, 'Policy')
  if ((optionalString(input, 'PolicyName') ?? 'default') !== 'default') {
    throw notDefaultPolicyName()
  }
  authorize(ctx, key, 'kms:PutKeyPolicy')
  requireNotPendingDeletion(key)
  parsePolicy(policy)
  key.policy = policy
  ctx.store.saveKey(key)
  return {}
}

const GetKeyPolicy: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  if ((optionalString(input, 'PolicyName') ?? 'default') !== 'default') throw notDefaultPolicyName()
  authorize(ctx, key, 'kms:GetKeyPolicy')
  return { Policy: key.policy, PolicyName: 'default' }
}

const notDefaultPolicyName = () =>
  new KmsError('NotFoundException', 'The only valid PolicyName is default.')

export const keyOperations = {
  CreateKey,
  DescribeKey,
  ListKeys,
  EnableKey,
  DisableKey,
  ScheduleKeyDeletion,
  CancelKeyDeletion,
  ReplicateKey,
  PutKeyPolicy,
  GetKeyPolicy,
} satisfies Record<string, Handler>
