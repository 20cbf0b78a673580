import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

/**
 * Rate limits per token and per organization on the real stack: 429 problem+json with
 * Retry-After and the draft-09 fields, limits narrowed at minting, and two instances that
 * exchange their counts through DynamoDB as the README documents. The clock is the test's:
 * buckets refill only when it moves.
 */

let now = Date.now()
const clock = { now: () => now }
let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({
    clock,
    env: {
      KEYSTASH_RATE_LIMIT_TOKEN_RPS: '1',
      KEYSTASH_RATE_LIMIT_TOKEN_BURST: '5',
      KEYSTASH_RATE_LIMIT_ORG_RPS: '0',
      KEYSTASH_RATE_LIMIT_SYNC_MS: '0',
    },
  })
  api = client(stack.app)
})
afterAll(() => stack?.close())

/** A fresh organization with one key; each test advances the clock to refill its session. */
async function owner() {
  now += 60_000
  const account = await signup(api)
  await api.post('/v1/keys', { name: 'openai', value: 'sk-rate-limited' }, account.session)
  const mint = async (body: object = {}) =>
    api.post(
      '/v1/tokens',
      { name: 'app', scopes: ['keys:read'], expiresIn: 3600, environment: 'production', ...body },
      account.session,
    )
  return { ...account, mint }
}

describe('rate limits', () => {
  it('refuses with 429, Retry-After and the RateLimit fields once the burst is spent', async () => {
    const { mint } = await owner()
    const token = (await mint()).body.token as string
    for (let i = 0; i < 5; i++) {
      const res = await api.get('/v1/keys/openai/value', token)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-policy')).toBe('"token";q=5;w=5')
      expect(res.headers.get('ratelimit')).toBe(`"token";r=${4 - i};t=${i + 1}`)
    }
    const refused = await api.get('/v1/keys/openai/value', token)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(refused.headers.get('ratelimit')).toBe('"token";r=0;t=5')
    expect(refused.body).toMatchObject({ code: 'rate_limited', status: 429, retryAfter: 1 })
    expect(refused.body.requestId).toEqual(expect.any(String))
    // Every other route of the token counts too, and is refused alike.
    expect((await api.get('/v1/keys/openai', token)).status).toBe(429)

    // One token a second: after a second, one more request, then a refusal again.
    now += 1000
    expect((await api.get('/v1/keys/openai/value', token)).status).toBe(200)
    expect((await api.get('/v1/keys/openai/value', token)).status).toBe(429)
  })

  it('keeps a token’s own limit within its minter’s, down the token tree', async () => {
    const { mint, session } = await owner()
    // A session is held to the server's default (1/s, bursts of 5).
    const wide = await mint({ rateLimit: { rate: 2, burst: 5 } })
    expect(wide.status).toBe(403)
    expect(wide.body).toMatchObject({ code: 'scope_escalation', exceeded: ['rateLimit'] })
    const parent = await mint({
      scopes: ['keys:read', 'tokens:write'],
      rateLimit: { rate: 0.5, burst: 2 },
    })
    expect(parent.status).toBe(201)
    expect(parent.body.rateLimit).toEqual({ rate: 0.5, burst: 2 })

    now += 10_000
    const childOf = (body: object) =>
      api.post(
        '/v1/tokens',
        {
          name: 'child',
          scopes: ['keys:read'],
          expiresIn: 600,
          environment: 'production',
          ...body,
        },
        parent.body.token,
      )
    const tooMuch = await childOf({ rateLimit: { rate: 0.5, burst: 3 } })
    expect(tooMuch.status).toBe(403)
    expect(tooMuch.body.code).toBe('scope_escalation')
    // Nothing asked for: the parent's own limit is inherited.
    now += 10_000
    const inherited = await childOf({})
    expect(inherited.status).toBe(201)
    expect(inherited.body.rateLimit).toEqual({ rate: 0.5, burst: 2 })
    const described = await api.get(`/v1/tokens/${inherited.body.id}`, session)
    expect(described.body.rateLimit).toEqual({ rate: 0.5, burst: 2 })
    // And it is enforced: two reads, then 429 for two seconds.
    const child = inherited.body.token as string
    expect((await api.get('/v1/keys/openai/value', child)).status).toBe(200)
    expect((await api.get('/v1/keys/openai/value', child)).status).toBe(200)
    const refused = await api.get('/v1/keys/openai/value', child)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('2')
  })

  it('shares an organization’s limit between its tokens', async () => {
    const instance = stack.anotherInstance({
      KEYSTASH_RATE_LIMIT_TOKEN_RPS: '0',
      KEYSTASH_RATE_LIMIT_ORG_RPS: '1',
      KEYSTASH_RATE_LIMIT_ORG_BURST: '3',
    })
    const other = client(instance.app)
    const { mint } = await owner()
    const first = (await mint()).body.token as string
    const second = (await mint()).body.token as string
    expect((await other.get('/v1/keys/openai/value', first)).status).toBe(200)
    expect((await other.get('/v1/keys/openai/value', second)).status).toBe(200)
    expect((await other.get('/v1/keys/openai/value', first)).status).toBe(200)
    const refused = await other.get('/v1/keys/openai/value', second)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('ratelimit-policy')).toBe('"organization";q=3;w=3')
    // Another organization has a bucket of its own.
    const { mint: mintElsewhere } = await owner()
    const elsewhere = (await mintElsewhere()).body.token as string
    expect((await other.get('/v1/keys/openai/value', elsewhere)).status).toBe(200)
  })

  it('with two instances: each admits its own bucket until they exchange, then both repay', async () => {
    const a = stack.deps
    const b = stack.anotherInstance()
    const apiA = api
    const apiB = client(b.app)
    const { mint } = await owner()
    const token = (await mint()).body.token as string
    const read = (on: typeof apiA) => on.get('/v1/keys/openai/value', token)

    // One read on each, then a first exchange: each learns where the shared counter stands.
    expect((await read(apiA)).status).toBe(200)
    expect((await read(apiB)).status).toBe(200)
    await a.rateExchange.exchange()
    await b.deps.rateExchange.exchange()
    // Between exchanges each instance admits what its own bucket holds: 2 x 5 in all, the
    // documented bound (burst + (N - 1) x (burst + rate x interval), no time having passed).
    for (let i = 0; i < 4; i++) expect((await read(apiA)).status).toBe(200)
    for (let i = 0; i < 4; i++) expect((await read(apiB)).status).toBe(200)
    expect((await read(apiA)).status).toBe(429)

    // The exchange tells each of the other's reads: both buckets go into debt.
    await a.rateExchange.exchange()
    await b.deps.rateExchange.exchange()
    await a.rateExchange.exchange()
    const refusedA = await read(apiA)
    const refusedB = await read(apiB)
    expect(refusedA.headers.get('retry-after')).toBe('6') // 5 - 5 own - 5 of B's = -5 tokens
    expect(refusedB.headers.get('retry-after')).toBe('5') // B's first exchange set its baseline after A's first read
    // The debt is repaid at the rate: over these six seconds the two together admitted
    // 11 reads, the burst plus six seconds' worth, as one instance alone would have.
    now += 5000
    expect((await read(apiA)).status).toBe(429)
    expect((await read(apiB)).status).toBe(200)
    now += 1000
    expect((await read(apiA)).status).toBe(200)
  })
})
