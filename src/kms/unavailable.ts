import { translateKmsError } from './errors.ts'

/**
 * The error unchanged when it means AWS KMS could not serve the call (refused, reset, timed
 * out, a server fault), else undefined. Callers still translate it (errors.ts) into
 * `kms_unavailable`; this only tells the outage log.
 */
export function kmsOutage(error: unknown): unknown {
  return translateKmsError(error).code === 'kms_unavailable' ? error : undefined
}
