import { authorize, type OpContext, requireNotPendingDeletion, resolveKey } from './access.ts'
import { KmsError } from './errors.ts'
import { type Input, optionalString, requiredString } from './input.ts'
import { aliasArn } from './keys.ts'
import { paginate } from './metadata.ts'

/** Aliases belong to one account and one region, like the keys they point to. */
type Handler = (input: Input, ctx: OpContext) => Record<string, unknown>

const CreateAlias: Handler = (input, ctx) => {
  const aliasName = requiredString(input, 'AliasName')
  const target = requiredString(input, 'TargetKeyId')
  if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(aliasName) || aliasName.length > 256) {
    throw new KmsError('InvalidAliasNameException', `Alias name ${aliasName} is not valid.`)
  }
  if (aliasName.startsWith('alias/aws/')) {
    throw new KmsError('NotAuthorizedException', 'alias/aws/ is reserved for AWS managed keys.')
  }
  if (target.startsWith('alias/') || target.includes(':alias/')) {
    throw new KmsError('ValidationException', 'TargetKeyId must be a key id or key ARN.')
  }
  const key = resolveKey(ctx, target)
  const { accountId, region } = ctx.caller
  if (key.accountId !== accountId) {
    throw new KmsError('NotFoundException', `Key '${key.arn}' does not exist`)
  }
  authorize(ctx, key, 'kms:CreateAlias')
  requireNotPendingDeletion(key)
  if (ctx.store.getAlias(accountId, region, aliasName)) {
    throw new KmsError(
      'AlreadyExistsException',
      `An alias with the name ${aliasArn(region, accountId, aliasName)} already exists`,
    )
  }
  const now = ctx.now()
  ctx.store.saveAlias({
    aliasName,
    accountId,
    region,
    targetKeyId: key.keyId,
    creationDate: now,
    lastUpdatedDate: now,
  })
  return {}
}

const ListAliases: Handler = (input, ctx) => {
  const { accountId, region } = ctx.caller
  const keyIdFilter = optionalString(input, 'KeyId')
  const targetKeyId = keyIdFilter === undefined ? undefined : resolveKey(ctx, keyIdFilter).keyId
  const aliases = ctx.store
    .listAliases(accountId, region)
    .filter((a) => targetKeyId === undefined || a.targetKeyId === targetKeyId)
    .sort((a, b) => a.aliasName.localeCompare(b.aliasName))
  const { page, more } = paginate(aliases, input)
  return {
    Aliases: page.map((a) => ({
      AliasName: a.aliasName,
      AliasArn: aliasArn(a.region, a.accountId, a.aliasName),
      TargetKeyId: a.targetKeyId,
      CreationDate: a.creationDate / 1000,
      LastUpdatedDate: a.lastUpdatedDate / 1000,
    })),
    ...more,
  }
}

export const aliasOperations = { CreateAlias, ListAliases } satisfies Record<string, Handler>
