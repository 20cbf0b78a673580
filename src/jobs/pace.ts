import { setTimeout as sleepFor } from 'node:timers/promises'

/** Waits `ms`, or less if `signal` aborts first; never rejects. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return
  await sleepFor(ms, undefined, { signal }).catch(() => {})
}

/**
 * Spaces calls `1000 / perSecond` ms apart on average, however many workers share it: each
 * caller takes the next free slot and waits for it. While `yieldTo()` says the process is busy
 * with foreground work, slots are `1000 / floorPerSecond` apart instead.
 */
export function createRateLimiter(
  perSecond: number,
  now = () => performance.now(),
  {
    yieldTo,
    floorPerSecond = perSecond,
    wait = pause,
  }: {
    yieldTo?: () => boolean
    floorPerSecond?: number
    wait?: (ms: number, signal: AbortSignal) => Promise<void>
  } = {},
) {
  if (!(perSecond > 0) || !(floorPerSecond > 0)) throw new RangeError('a rate must be positive')
  const interval = 1000 / perSecond
  const slowInterval = 1000 / Math.min(floorPerSecond, perSecond)
  let nextSlot = now()
  return async (signal: AbortSignal): Promise<void> => {
    const slot = Math.max(now(), nextSlot)
    nextSlot = slot + (yieldTo?.() ? slowInterval : interval)
    await wait(slot - now(), signal)
  }
}
