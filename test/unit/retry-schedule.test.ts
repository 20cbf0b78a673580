import { describe, expect, it } from 'vitest'
import {
  MAX_RETRY_MS,
  nextAttemptAt,
  RETRY_WINDOW_MS,
  retryDelayMs,
} from '../../src/jobs/retry-schedule.ts'

describe('webhook retry schedule', () => {
  it('grows exponentially with jitter, capped', () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(10_000)
    expect(retryDelayMs(2, () => 0.5)).toBe(30_000)
    expect(retryDelayMs(3, () => 0)).toBe(67_500)
    expect(retryDelayMs(3, () => 1)).toBe(112_500)
    expect(retryDelayMs(40, () => 0.5)).toBe(MAX_RETRY_MS)
  })

  it('retries for at least a day, ends at the 5-day window, then stops', () => {
    const created = 0
    let now = created
    let attempt = 1
    const times: number[] = []
    for (;;) {
      const next = nextAttemptAt(attempt, created, now, Math.random)
      if (next === undefined) break
      expect(next).toBeGreaterThan(now)
      times.push(next)
      now = next
      attempt++
    }
    expect(times.at(-1)).toBe(RETRY_WINDOW_MS)
    expect(times.filter((t) => t >= 86_400_000).length).toBeGreaterThan(1)
    expect(attempt).toBeLessThan(30)
  })
})
