import { authorize, type OpContext, requireNotPendingDeletion, resolveKey } from './access.ts'
import { KmsError } from './errors.ts'
import { type Input, optionalInteger, requiredString } from './input.ts'
import type { KmsKey } from './keys.ts'

/**
 * Automatic key rotation, as AWS KMS reports and sets it. Only symmetric encryption keys
 * rotate; a multi-Region key's rotation is set on its primary and shared by its replicas; a key
 * pending deletion reports rotation off (and gets it back if the deletion is cancelled).
 */
type Handler = (input: Input, ctx: OpContext) => Record<string, unknown>

const DAY = 86_400_000

/** The key whose rotation setting applies: the multi-Region primary, or the key itself. */
function rotationHolder(key: KmsKey, ctx: OpContext): KmsKey {
  if (!key.multiRegion || !key.primaryRegion || key.primaryRegion === key.region) return key
  return ctx.store.getKey(key.accountId, key.primaryRegion, key.keyId) ?? key
}

function requireRotatable(key: KmsKey, operation: string): void {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError(
      'UnsupportedOperationException',
      `${key.arn} key spec is ${key.keySpec}, which is not valid for ${operation}.`,
    )
  }
}

const GetKeyRotationStatus: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  authorize(ctx, key, 'kms:GetKeyRotationStatus')
  requireRotatable(key, 'GetKeyRotationStatus')
  const rotation = rotationHolder(key, ctx).rotation
  const enabled = rotation !== undefined && key.state !== 'PendingDeletion'
  return {
    KeyId: key.arn,
    KeyRotationEnabled: enabled,
    ...(enabled && {
      RotationPeriodInDays: rotation.periodInDays,
      NextRotationDate: (rotation.enabledAt + rotation.periodInDays * DAY) / 1000,
    }),
  }
}

const setRotation =
  (operation: 'EnableKeyRotation' | 'DisableKeyRotation'): Handler =>
  (input, ctx) => {
    const key = resolveKey(ctx, requiredString(input, 'KeyId'))
    authorize(ctx, key, `kms:${operation}`)
    requireRotatable(key, operation)
    if (rotationHolder(key, ctx) !== key) {
      throw new KmsError(
        'UnsupportedOperationException',
        `${key.arn} is a multi-Region replica key; set its rotation on the primary key.`,
      )
    }
    requireNotPendingDeletion(key)
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`)
    if (operation === 'DisableKeyRotation') delete key.rotation
    else {
      const periodInDays = optionalInteger(input, 'RotationPeriodInDays', 90, 2560) ?? 365
      key.rotation = { periodInDays, enabledAt: ctx.now() }
    }
    ctx.store.saveKey(key)
    return {}
  }

export const rotationOperations = {
  GetKeyRotationStatus,
  EnableKeyRotation: setRotation('EnableKeyRotation'),
  DisableKeyRotation: setRotation('DisableKeyRotation'),
} satisfies Record<string, Handler>
