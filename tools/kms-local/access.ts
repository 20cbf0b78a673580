import { invalidState, KmsError, notFound } from './errors.ts'
import type { Caller } from './identity.ts'
import { aliasArn, type KeyStore, type KmsKey, keyArn } from './keys.ts'
import { isAllowed } from './policy.ts'

/** What every operation handler gets. */
export interface OpContext {
  caller: Caller
  store: KeyStore
  now(): number
}

const arnPattern = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key\/[A-Za-z0-9-]+|alias\/.+)$/

/**
 * Resolves a key id, key ARN, alias name or alias ARN the way AWS does: names without an
 * account resolve in the caller's account, and only an ARN reaches another account's key. A
 * key lives in one region; naming it from another region finds nothing.
 */
export function resolveKey(ctx: OpContext, keyIdInput: string): KmsKey {
  const { caller, store } = ctx
  let accountId = caller.accountId
  let name = keyIdInput
  if (keyIdInput.startsWith('arn:')) {
    const match = arnPattern.exec(keyIdInput)
    if (!match?.[1] || !match[2] || !match[3] || match[1] !== caller.region) {
      throw notFound(`Invalid arn ${keyIdInput}`)
    }
    accountId = match[2]
    name = match[3]
  }
  if (name.startsWith('alias/')) {
    const alias = store.getAlias(accountId, caller.region, name)
    const key = alias && store.getKey(accountId, caller.region, alias.targetKeyId)
    if (!key) throw notFound(`Alias ${aliasArn(caller.region, accountId, name)} is not found.`)
    return key
  }
  const keyId = name.startsWith('key/') ? name.slice('key/'.length) : name
  const key = store.getKey(accountId, caller.region, keyId)
  if (!key) {
    throw notFound(`Key '${keyArn(caller.region, accountId, keyId)}' does not exist`)
  }
  return key
}

/** Throws AccessDeniedException unless the key's policy allows `action` for this caller. */
export function authorize(
  ctx: OpContext,
  key: KmsKey,
  action: string,
  encryptionContext: Record<string, string> = {},
): void {
  const request = { action, caller: ctx.caller, resourceArn: key.arn, encryptionContext }
  if (!isAllowed(key.policy, request)) {
    throw new KmsError(
      'AccessDeniedException',
      `User: ${ctx.caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} because no resource-based policy allows the ${action} action`,
    )
  }
}

/** Cryptographic operations need an enabled key. */
export function requireEnabled(key: KmsKey): void {
  if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`)
  if (key.state === 'PendingDeletion') throw invalidState(`${key.arn} is pending deletion.`)
}

export function requireNotPendingDeletion(key: KmsKey): void {
  if (key.state === 'PendingDeletion') throw invalidState(`${key.arn} is pending deletion.`)
}

/**
 * Only symmetric encryption keys wrap data keys. AWS answers InvalidKeyUsageException for any
 * other key spec or usage; an asymmetric algorithm on an RSA key is valid in AWS but not
 * implemented here, which we say plainly instead of pretending.
 */
export function requireSymmetric(
  key: KmsKey,
  operation: string,
  algorithm = 'SYMMETRIC_DEFAULT',
): void {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') {
    if (algorithm !== 'SYMMETRIC_DEFAULT') {
      throw new KmsError(
        'InvalidKeyUsageException',
        `${algorithm} is not a supported encryption algorithm for ${key.arn}.`,
      )
    }
    return
  }
  if (key.keyUsage === 'ENCRYPT_DECRYPT' && algorithm.startsWith('RSAES_')) {
    throw new KmsError(
      'UnsupportedOperationException',
      `The local KMS does not implement ${algorithm}.`,
    )
  }
  throw new KmsError(
    'InvalidKeyUsageException',
    `${key.arn} key usage is ${key.keyUsage} and key spec is ${key.keySpec}, which is not valid for ${operation}.`,
  )
}
