/**
 * When a failed webhook delivery is tried again: exponential backoff (10 s, 30 s, 90 s, ...
 * capped at 12 h) with ±25 % jitter, so receivers coming back from an outage are not hit by
 * every sender at once. An endpoint failing for 5 days without one success is disabled; a
 * message is retried for an hour longer than that (the specification asks for at least a
 * day), so its last attempt, at the end of its window, finds an endpoint that failed
 * throughout past the 5 days.
 */
export const FIRST_RETRY_MS = 10_000
export const MAX_RETRY_MS = 12 * 3600_000
export const DISABLE_AFTER_MS = 5 * 86_400_000
export const RETRY_WINDOW_MS = DISABLE_AFTER_MS + 3600_000

/** The delay after failed attempt number `attempt` (1-based). */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 3 ** Math.max(0, attempt - 1))
  return Math.round(base * (0.75 + random() * 0.5))
}

/**
 * When the next attempt is due, or undefined when the message has had its last one. `now` and
 * `createdAt` in milliseconds.
 */
export function nextAttemptAt(
  attempt: number,
  createdAt: number,
  now: number,
  random: () => number = Math.random,
): number | undefined {
  const windowEnd = createdAt + RETRY_WINDOW_MS
  if (now >= windowEnd) return undefined
  return Math.min(windowEnd, now + retryDelayMs(attempt, random))
}
