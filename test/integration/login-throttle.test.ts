import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { LOGIN_RULES } from '../../src/storage/login-throttle.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

/**
 * Login and sign-up throttling by client address, through the socket address the adapter
 * reports (`app.request()` has no socket, so each request here names one in its bindings).
 */
let stack: Stack
// Counters live in fixed windows; the clock stands still at the start of one while a test
// counts, so that a slow run cannot cross into the next window halfway.
let now = Date.now()
const WINDOW = LOGIN_RULES.pair.windowMs
const PASSWORD = 'correct horse battery staple'

beforeAll(async () => {
  stack = await startStack({ clock: { now: () => now } })
})
beforeEach(() => {
  now = Math.floor(Date.now() / WINDOW) * WINDOW + 1_000
})
afterAll(() => stack?.close())

async function from(address: string, path: string, body: unknown) {
  const res = await stack.app.request(
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
    { incoming: { socket: { remoteAddress: address, remoteFamily: 'IPv4', remotePort: 40000 } } },
  )
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

const login = (address: string, email: string, password: string) =>
  from(address, '/v1/auth/login', { email, password })

describe('login throttling', () => {
  it('evaluates at most 5 of 20 concurrent wrong passwords, and locks only that pair', async () => {
    const api = client(stack.app)
    const victim = await signup(api)
    const neighbour = await signup(api)
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => login('198.51.100.7', victim.email, 'wrong password here')),
    )
    const evaluated = answers.filter((a) => a.body.code === 'invalid_credentials')
    const refused = answers.filter((a) => a.body.code === 'login_locked')
    expect(evaluated.length).toBeLessThanOrEqual(5)
    expect(evaluated.length + refused.length).toBe(20)
    for (const answer of refused) {
      expect(answer.status).toBe(429)
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0)
    }

    // The pair stays locked, even with the right password...
    expect((await login('198.51.100.7', victim.email, PASSWORD)).body.code).toBe('login_locked')
    // ...but another account behind the same address still logs in,
    expect((await login('198.51.100.7', neighbour.email, PASSWORD)).status).toBe(200)
    // and so does the victim from elsewhere.
    expect((await login('203.0.113.9', victim.email, PASSWORD)).status).toBe(200)
  })

  it('clears a pair after a successful login', async () => {
    const user = await signup(client(stack.app))
    for (let i = 0; i < 4; i++) {
      expect((await login('198.51.100.20', user.email, 'wrong password here')).status).toBe(401)
    }
    expect((await login('198.51.100.20', user.email, PASSWORD)).status).toBe(200)
    for (let i = 0; i < 4; i++) {
      expect((await login('198.51.100.20', user.email, 'wrong password here')).status).toBe(401)
    }
  })

  it('slows a noisy address down instead of locking it out', async () => {
    const user = await signup(client(stack.app))
    const noisy = '198.51.100.99'
    const limit = LOGIN_RULES.address.max
    const answers = []
    for (let i = 0; i <= limit; i++) {
      answers.push(await login(noisy, `ghost-${i}-${Date.now()}@example.com`, 'whatever it is'))
    }
    expect(answers.slice(0, limit).map((a) => a.status)).toEqual(Array(limit).fill(401))
    const slowed = answers[limit]
    expect([slowed?.status, slowed?.body.code]).toEqual([429, 'login_locked'])
    expect(Number(slowed?.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect((await login(noisy, user.email, PASSWORD)).status).toBe(429)
    // The next minute the address may try again.
    now += LOGIN_RULES.address.windowMs
    expect((await login(noisy, user.email, PASSWORD)).status).toBe(200)
  })
})

describe('sign-up throttling', () => {
  it('allows 10 sign-ups an hour from one address, then answers 429 rate_limited', async () => {
    const signups = []
    for (let i = 0; i < 11; i++) {
      signups.push(
        await from('192.0.2.44', '/v1/auth/signup', {
          email: `many-${i}-${Date.now()}@example.com`,
          password: PASSWORD,
        }),
      )
    }
    expect(signups.slice(0, 10).map((s) => s.status)).toEqual(Array(10).fill(201))
    expect([signups[10]?.status, signups[10]?.body.code]).toEqual([429, 'rate_limited'])
    expect(Number(signups[10]?.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another address is not affected.
    const other = await from('192.0.2.45', '/v1/auth/signup', {
      email: `elsewhere-${Date.now()}@example.com`,
      password: PASSWORD,
    })
    expect(other.status).toBe(201)
  })
})
