import { describe, expect, it } from 'vitest'
import {
  backoffMs,
  DEFAULT_BACKOFF,
  parseRetryAfter,
  retryDelay,
} from '../../sdk/src/core/retry.ts'
import { ConnectionError, ServerError, ValidationError } from '../../sdk/src/index.ts'

const headers = (h: Record<string, string>) => new Headers(h)

describe('Retry-After', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter(headers({ 'retry-after-ms': '1500' }), now)).toBe(1500)
    expect(parseRetryAfter(headers({ 'retry-after': '2' }), now)).toBe(2000)
    expect(parseRetryAfter(headers({ 'retry-after': '0.5' }), now)).toBe(500)
    expect(parseRetryAfter(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), now)).toBe(
      7000,
    )
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), now)).toBe(
      0,
    )
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }), now)).toBeUndefined()
    expect(parseRetryAfter(headers({}), now)).toBeUndefined()
  })
})

describe('backoff', () => {
  it('doubles from 0.5 s up to 8 s, with up to 25 % jitter below', () => {
    const at = (attempt: number, r: number) => backoffMs(attempt, DEFAULT_BACKOFF, () => r)
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => at(n, 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ])
    expect(at(0, 1)).toBe(375)
    expect(at(10, 0.999)).toBeGreaterThan(6000)
  })

  it('prefers the server’s delay, and never retries what it must not', () => {
    const withRetryAfter = new ServerError('x', { status: 503, retryAfterMs: 1234 })
    expect(retryDelay(withRetryAfter, 0, DEFAULT_BACKOFF)).toBe(1234)
    expect(retryDelay(new ConnectionError('x'), 0, DEFAULT_BACKOFF)).toBeGreaterThan(0)
    expect(
      retryDelay(new ValidationError('x', { status: 422 }), 0, DEFAULT_BACKOFF),
    ).toBeUndefined()
    expect(retryDelay(new Error('bug'), 0, DEFAULT_BACKOFF)).toBeUndefined()
  })
})
