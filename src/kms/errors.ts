import { AppError, isAppError } from '../errors.ts'

/**
 * Translates an error thrown by `@aws-sdk/client-kms` into an AppError, by the error's `name`
 * (the SDK sends some errors, e.g. AccessDeniedException, as a generic KMSServiceException
 * with `name` set, so `instanceof` would miss them).
 *
 * Details say what the operator can do and never quote the AWS message: it names key ARNs
 * and IAM principals, and the caller may not be the one who owns them. The original error
 * stays on `cause` for the server's own logs.
 */

export type KmsOperation = 'GenerateDataKey' | 'Decrypt' | 'ReEncrypt'

// Revoking a KEK reaches reads only after cached data keys expire; callers are told so.
const CACHE_BOUND =
  'Values may stay readable until data keys cached by a server expire (at most 1 hour).'

const RETRY_AFTER_THROTTLED = '1'
const RETRY_AFTER_UNAVAILABLE = '2'

// Only these words may reach the detail: the AWS message itself is never copied.
const KEY_STATES: ReadonlyArray<readonly [RegExp, string]> = [
  [/pending replica deletion/i, 'PendingReplicaDeletion'],
  [/pending deletion/i, 'PendingDeletion'],
  [/pending import/i, 'PendingImport'],
  [/pending update/i, 'Updating'],
  [/\bcreating\b/i, 'Creating'],
  [/\bunavailable\b/i, 'Unavailable'],
  [/\bdisabled\b/i, 'Disabled'],
]

interface SdkErrorShape {
  name?: unknown
  message?: unknown
  $fault?: unknown
  $metadata?: { httpStatusCode?: unknown }
}

export function translateKmsError(error: unknown, operation?: KmsOperation): AppError {
  if (isAppError(error)) return error
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? error : {}
  const name = typeof shape.name === 'string' ? shape.name : ''
  const cause = { cause: error }

  switch (name) {
    case 'DisabledException':
      return new AppError(
        'kek_disabled',
        `The tenant's key-encryption key is disabled in AWS KMS. Enable it to restore access. ${CACHE_BOUND}`,
        cause,
      )
    case 'AccessDeniedException':
      return new AppError(
        'kek_access_denied',
        `AWS KMS denied this server the use of the tenant's key-encryption key. Check the key policy and grants for the server's role (they must allow kms:GenerateDataKey and kms:Decrypt with the keystash:tenant encryption context). ${CACHE_BOUND}`,
        cause,
      )
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'IncompleteSignature':
    case 'ExpiredTokenException':
      return new AppError(
        'kek_access_denied',
        "AWS KMS rejected this server's AWS credentials. Check the server's credentials and clock.",
        cause,
      )
    case 'KMSInvalidStateException': {
      const state = keyState(shape.message)
      return new AppError(
        'kek_pending_deletion',
        `The tenant's key-encryption key cannot be used in its current state (${state}). If it is pending deletion, cancel the deletion and enable the key. ${CACHE_BOUND}`,
        { ...cause, extra: { kekState: state } },
      )
    }
    case 'NotFoundException':
      return new AppError(
        'kek_not_found',
        `AWS KMS has no such key-encryption key for this tenant in the configured account and region. Check the tenant's key configuration. ${CACHE_BOUND}`,
        cause,
      )
    case 'InvalidArnException':
    case 'InvalidKeyUsageException':
    case 'UnsupportedOperationException':
      return new AppError(
        'kek_invalid',
        "The tenant's key-encryption key is not usable for envelope encryption: it must be a symmetric AWS KMS key with key usage ENCRYPT_DECRYPT.",
        cause,
      )
    case 'ThrottlingException':
    case 'LimitExceededException':
      return new AppError(
        'kms_throttled',
        'AWS KMS is throttling requests for this key. Retry shortly; if it persists, raise the KMS request quota or the data-key cache TTL.',
        { ...cause, headers: { 'Retry-After': RETRY_AFTER_THROTTLED } },
      )
    case 'InvalidCiphertextException':
    case 'IncorrectKeyException':
      return new AppError('decryption_failed', undefined, cause)
    case 'KMSInternalException':
    case 'DependencyTimeoutException':
    case 'KeyUnavailableException':
      return unavailable('AWS KMS could not serve the request right now. Retry shortly.', error)
    case 'CredentialsProviderError':
      return unavailable(
        'This server could not load AWS credentials to call AWS KMS. Check its credential configuration.',
        error,
      )
  }
  if (name.startsWith('Xks') || name.startsWith('CustomKeyStore')) {
    return unavailable(
      "The custom key store behind the tenant's key-encryption key is unreachable or misconfigured. Check it in AWS KMS.",
      error,
    )
  }
  // A malformed stored blob (wrong length, ...) is a ciphertext problem, not a service one.
  if (name === 'ValidationException' && operation === 'Decrypt') {
    return new AppError('decryption_failed', undefined, cause)
  }
  const status = shape.$metadata?.httpStatusCode
  // No HTTP status means the request never got an answer: refused, reset, timed out, aborted.
  if (typeof status !== 'number' || status >= 500 || shape.$fault === 'server') {
    return unavailable('AWS KMS could not be reached or failed to answer. Retry shortly.', error)
  }
  return new AppError('internal', undefined, cause)
}

function unavailable(detail: string, error: unknown): AppError {
  return new AppError('kms_unavailable', detail, {
    cause: error,
    headers: { 'Retry-After': RETRY_AFTER_UNAVAILABLE },
  })
}

function keyState(message: unknown): string {
  if (typeof message !== 'string') return 'unknown'
  for (const [pattern, state] of KEY_STATES) if (pattern.test(message)) return state
  return 'unknown'
}
