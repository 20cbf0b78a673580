import { AppError } from '../errors.ts'

const RETRY_AFTER_SECONDS = '2'

// Errors DynamoDB answers when it cannot serve now; the SDK has already retried them.
const UNAVAILABLE = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'LimitExceededException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
])

// Socket errors: the request never got an answer.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

interface SdkErrorShape {
  name?: unknown
  code?: unknown
  $fault?: unknown
  $metadata?: { httpStatusCode?: unknown }
}

/**
 * `storage_unavailable` (503, `Retry-After`) when a DynamoDB error means the table could not
 * serve the call; undefined for answers such as a failed condition, which callers handle.
 * Translated by name here, in the storage adapter, so nothing above it sees AWS errors.
 */
export function storageOutage(error: unknown): AppError | undefined {
  if (error instanceof AppError) return undefined
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? error : {}
  const name = typeof shape.name === 'string' ? shape.name : ''
  const status = shape.$metadata?.httpStatusCode
  const unanswered = typeof shape.code === 'string' && NETWORK_CODES.has(shape.code)
  const serverFault = (typeof status === 'number' && status >= 500) || shape.$fault === 'server'
  if (!UNAVAILABLE.has(name) && !unanswered && !serverFault) return undefined
  return new AppError(
    'storage_unavailable',
    'The database could not be reached or could not answer. Retry shortly.',
    { cause: error, headers: { 'Retry-After': RETRY_AFTER_SECONDS } },
  )
}
