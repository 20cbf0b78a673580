import { AppError, type ErrorCode, isAppError } from '../errors.ts'
import type { KekProvider } from './kek-provider.ts'

/**
 * What a tenant whose own KMS key has become unusable reads in the error: what happened, what
 * it can do about it, and how long servers go on serving from cached data keys (the TTL in
 * force for that tenant), so "it still worked a minute ago" is explained rather than puzzling.
 */
const WHAT_TO_DO: Partial<Record<ErrorCode, string>> = {
  kek_disabled:
    "Your organization's key-encryption key is disabled in AWS KMS. Enable it (aws kms enable-key) to restore service; no data is lost.",
  kek_access_denied:
    "AWS KMS denied Keystash the use of your organization's key-encryption key. Restore the key policy statement (or the role and its trust policy) that lets Keystash call kms:GenerateDataKey, kms:Decrypt, kms:Encrypt and kms:ReEncrypt* with your tenant id as the keystash:tenant encryption context; no data is lost.",
  kek_pending_deletion:
    "Your organization's key-encryption key is scheduled for deletion (or otherwise unusable) in AWS KMS. Cancel the deletion (aws kms cancel-key-deletion) and enable the key before the waiting period ends; once AWS deletes it, every value it protects is lost for good.",
  kek_not_found:
    "AWS KMS cannot find your organization's key-encryption key. If it was deleted, the values it protected cannot be recovered; otherwise check the key ARN and region in your encryption settings.",
  kms_unavailable:
    "AWS KMS could not be reached in the region of your organization's key-encryption key (nor in any replica region configured). Retry shortly; a multi-Region replica keeps reads working through a regional outage.",
  kms_throttled:
    "AWS KMS is throttling requests for your organization's key-encryption key. Retry shortly, or raise your KMS request quota.",
}

export function cacheSentence(ttlSeconds: number): string {
  return ttlSeconds === 0
    ? 'Data keys are not cached for your organization, so access changes take effect at once.'
    : `Servers keep serving values from cached data keys for up to ${ttlSeconds} s after access changes (the data-key cache TTL in force); after that, reads and writes fail until access is restored.`
}

export function explainKekError(error: unknown, ttlSeconds: number): unknown {
  if (!isAppError(error)) return error
  const advice = WHAT_TO_DO[error.code]
  if (!advice) return error
  return new AppError(error.code, `${advice} ${cacheSentence(ttlSeconds)}`, {
    extra: { ...error.extra, dataKeyCacheTtlSeconds: ttlSeconds },
    headers: error.headers,
    cause: error,
  })
}

/** The same provider, with every error explained for the tenant who owns the key. */
export function explainingErrors(provider: KekProvider, ttlSeconds: () => number): KekProvider {
  const explain = <T>(call: () => Promise<T>) =>
    call().catch((error: unknown) => {
      throw explainKekError(error, ttlSeconds())
    })
  return {
    kek: provider.kek,
    ...(provider.kms ? { kms: provider.kms } : {}),
    generateDataKey: (context) => explain(() => provider.generateDataKey(context)),
    unwrapDataKey: (wrapped, context) => explain(() => provider.unwrapDataKey(wrapped, context)),
    wrapDataKey: (plaintext, context) => explain(() => provider.wrapDataKey(plaintext, context)),
  }
}
