import { AbortError, ConnectionError, KeystashError } from '../errors.ts'

/**
 * When a failed attempt is tried again, and after how long:
 * - connection errors and timeouts, 408, 429 and 5xx are retried;
 * - other 4xx never are (the same request would fail the same way), with one exception: a 409
 *   that carries Retry-After, which the server sends only while an earlier attempt with the
 *   same Idempotency-Key is still running;
 * - 5xx whose code says the key-encryption key itself is unusable (disabled, access denied,
 *   pending deletion, not found, or a value that does not decrypt) are not retried either:
 *   only an operator can fix those. `kms_throttled` and `kms_unavailable` are retried;
 * - the delay is the server's `retry-after-ms` or `Retry-After` (seconds or an HTTP date) when
 *   it is at most 60 s; a longer one ends the retries (the error carries `retryAfterMs`);
 *   without one, capped exponential backoff with jitter: 0.5 s, 1 s, 2 s, ... up to 8 s, each
 *   reduced by up to 25 % at random so that many clients do not retry in step.
 */

export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 8000,
})

/** The longest Retry-After the client waits for. */
export const MAX_RETRY_AFTER_MS = 60_000

const PERMANENT_SERVER_CODES = new Set([
  'kek_disabled',
  'kek_access_denied',
  'kek_pending_deletion',
  'kek_not_found',
  'decryption_failed',
])

/** Milliseconds the server asked for, from `retry-after-ms` or `Retry-After`. */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '')
  if (Number.isFinite(ms) && ms >= 0) return ms
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number.parseFloat(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof AbortError) return false
  if (error instanceof ConnectionError) return true
  if (!(error instanceof KeystashError) || error.status === undefined) return false
  const { status, code } = error
  if (status === 408 || status === 429) return true
  if (status === 409) return error.headers?.has('retry-after') === true
  return status >= 500 && !(code !== undefined && PERMANENT_SERVER_CODES.has(code))
}

export function backoffMs(
  attempt: number,
  { initialDelayMs, maxDelayMs }: BackoffOptions,
  random: () => number = Math.random,
): number {
  const capped = Math.min(initialDelayMs * 2 ** attempt, maxDelayMs)
  return capped * (1 - 0.25 * random())
}

/** The delay before the next attempt, or undefined when this error must not be retried. */
export function retryDelay(
  error: unknown,
  attempt: number,
  backoff: BackoffOptions,
): number | undefined {
  if (!isRetryable(error)) return undefined
  const asked = error instanceof KeystashError ? error.retryAfterMs : undefined
  if (asked === undefined) return backoffMs(attempt, backoff)
  return asked <= MAX_RETRY_AFTER_MS ? asked : undefined
}

/** Waits, unless the signal fires first (then rejects with an AbortError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal))
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError(signal as AbortSignal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export const abortError = (signal: AbortSignal) =>
  new AbortError('The request was aborted.', { code: 'aborted', cause: signal.reason })
