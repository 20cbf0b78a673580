import { describe, expect, it } from 'vitest'
import { isAppError } from '../../src/errors.ts'
import { createRateLimiter } from '../../src/ratelimit/limiter.ts'
import { narrowRateLimit } from '../../src/ratelimit/narrow.ts'

const principal = { tenantId: 'org_1', tokenId: 'tok_1' }

function limiterAt(options: Partial<Parameters<typeof createRateLimiter>[0]> = {}) {
  let now = 1_000_000
  const refused: string[] = []
  const limiter = createRateLimiter({
    token: { rate: 2, burst: 3 },
    organization: undefined,
    now: () => now,
    onRefused: (limit) => refused.push(limit),
    ...options,
  })
  return { limiter, refused, advance: (ms: number) => (now += ms) }
}

const refusal = (run: () => unknown) => {
  try {
    run()
  } catch (error) {
    if (isAppError(error)) return error
    throw error
  }
  throw new Error('expected a refusal')
}

describe('rate limiter (token buckets)', () => {
  it('admits the burst, then refills at the stated rate', () => {
    const { limiter, refused, advance } = limiterAt()
    for (let i = 0; i < 3; i++) expect(limiter.admit(principal)?.allowed).toBe(true)
    const error = refusal(() => limiter.admit(principal))
    expect(error.code).toBe('rate_limited')
    expect(error.status).toBe(429)
    expect(error.headers['retry-after']).toBe('1')
    expect(refused).toEqual(['token'])
    // 2 per second: one more after 500 ms, not before.
    advance(499)
    expect(() => limiter.admit(principal)).toThrow()
    advance(1)
    expect(limiter.admit(principal)?.allowed).toBe(true)
    expect(() => limiter.admit(principal)).toThrow()
    // Ten seconds idle fill the bucket to its burst, never beyond it.
    advance(10_000)
    for (let i = 0; i < 3; i++) limiter.admit(principal)
    expect(() => limiter.admit(principal)).toThrow()
  })

  it('describes the limit in the draft-09 RateLimit-Policy and RateLimit fields', () => {
    const { limiter } = limiterAt({ organization: { rate: 10, burst: 100 } })
    const verdict = limiter.admit(principal)
    expect(verdict?.headers).toEqual({
      'ratelimit-policy': '"token";q=3;w=2, "organization";q=100;w=10',
      ratelimit: '"token";r=2;t=1, "organization";r=99;t=1',
    })
  })

  it('takes nothing from any bucket when one of them refuses', () => {
    const { limiter } = limiterAt({ organization: { rate: 1, burst: 2 } })
    const other = { tenantId: 'org_1', tokenId: 'tok_2' }
    limiter.admit(principal)
    limiter.admit(other)
    // The organization's bucket is empty: the token's keeps its two remaining tokens.
    const error = refusal(() => limiter.admit(principal))
    expect(error.headers.ratelimit).toBe('"token";r=2;t=1, "organization";r=0;t=2')
  })

  it('applies a token’s own limit instead of the default', () => {
    const { limiter } = limiterAt()
    const narrow = { ...principal, rateLimit: { rate: 1, burst: 1 } }
    limiter.admit(narrow)
    expect(() => limiter.admit(narrow)).toThrow()
  })

  it('lets a quiet check decline without taking or counting anything', () => {
    const { limiter, refused } = limiterAt({ token: { rate: 1, burst: 1 } })
    expect(limiter.tryAdmit(principal)).not.toBe(false)
    expect(limiter.tryAdmit(principal)).toBe(false)
    expect(refused).toEqual([])
    expect(() => limiter.admit(principal)).toThrow()
    expect(refused).toEqual(['token'])
  })

  it('repays debit learned from other instances before admitting more', () => {
    const { limiter, advance } = limiterAt()
    limiter.admit(principal)
    const bucket = limiter.active()[0]?.[1]
    if (!bucket) throw new Error('no bucket')
    bucket.debit(5) // 3 - 1 - 5 = -3 tokens: 2 s of refill until one is back
    const error = refusal(() => limiter.admit(principal))
    expect(error.headers['retry-after']).toBe('2')
    advance(2000)
    expect(limiter.admit(principal)?.allowed).toBe(true)
  })

  it('does nothing when no limit applies', () => {
    const { limiter } = limiterAt({ token: undefined })
    expect(limiter.admit(principal)).toBeUndefined()
  })
})

describe('narrowRateLimit (minting)', () => {
  const server = { rate: 100, burst: 500 }
  it('inherits the minter’s own limit when none is asked for', () => {
    expect(narrowRateLimit({ rate: 5, burst: 10 }, server, undefined)).toEqual({
      rate: 5,
      burst: 10,
    })
    expect(narrowRateLimit(undefined, server, undefined)).toBeUndefined()
  })
  it('allows a narrower limit and refuses a wider one', () => {
    expect(narrowRateLimit({ rate: 5, burst: 10 }, server, { rate: 1, burst: 10 })).toEqual({
      rate: 1,
      burst: 10,
    })
    expect(() => narrowRateLimit({ rate: 5, burst: 10 }, server, { rate: 6, burst: 1 })).toThrow(
      /at most 5 requests per second/,
    )
    expect(() => narrowRateLimit({ rate: 5, burst: 10 }, server, { rate: 1, burst: 11 })).toThrow()
    // A minter without a limit of its own is held to the server's default.
    expect(() => narrowRateLimit(undefined, server, { rate: 101, burst: 1 })).toThrow()
    // No default and no limit: anything goes.
    expect(narrowRateLimit(undefined, undefined, { rate: 1e6, burst: 1 })).toEqual({
      rate: 1e6,
      burst: 1,
    })
  })
})
