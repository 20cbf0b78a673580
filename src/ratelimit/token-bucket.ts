/** A limit: `rate` requests per second on average, bursts of up to `burst` at once. */
export interface RatePolicy {
  rate: number
  burst: number
}

/**
 * A token bucket: it holds up to `burst` tokens, gains `rate` per second, and each request
 * takes one. Consumption learned from other instances is `debit`ed and may leave it below
 * zero: that debt is paid back by the refill before anything more is admitted, so over time
 * the instances together admit the rate, not the rate times their number.
 */
export class TokenBucket {
  tokens: number
  updatedAt: number
  /** Requests admitted here since the last exchange with the other instances. */
  unreported = 0
  /** When a request last came (ms): idle buckets are forgotten. */
  usedAt: number

  constructor(
    readonly policy: RatePolicy,
    now: number,
  ) {
    this.tokens = policy.burst
    this.updatedAt = now
    this.usedAt = now
  }

  /** Refills up to `now` (milliseconds); returns the tokens held. */
  refill(now: number): number {
    const elapsed = now - this.updatedAt
    if (elapsed > 0) {
      this.tokens = Math.min(this.policy.burst, this.tokens + (elapsed * this.policy.rate) / 1000)
      this.updatedAt = now
    }
    return this.tokens
  }

  take(): void {
    this.tokens -= 1
    this.unreported++
  }

  debit(count: number): void {
    this.tokens -= count
  }

  /** Whole seconds until one token is back (for Retry-After); at least 1. */
  secondsUntilOne(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.policy.rate))
  }

  /** Whole seconds until the bucket is full again (the `t` of the RateLimit header). */
  secondsUntilFull(): number {
    return Math.max(0, Math.ceil((this.policy.burst - this.tokens) / this.policy.rate))
  }
}
