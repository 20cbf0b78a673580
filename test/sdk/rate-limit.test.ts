import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RateLimitError } from '../../sdk/src/index.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

/**
 * The SDK against the server's own rate limit: a 429 from the real limiter makes it wait the
 * Retry-After the server sent, then try again and succeed.
 */

let server: SdkServer
let reader: string
beforeAll(async () => {
  server = await startSdkServer()
  const { session } = await server.signup()
  const api = server.client(session)
  await api.keys.create({ name: 'openai', value: 'sk-sdk-rate-limit' })
  // One request every four seconds, no burst beyond it: the second read in a row waits.
  const minted = await fetch(`${server.url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'limited',
      scopes: ['keys:read'],
      expiresIn: 600,
      rateLimit: { rate: 0.25, burst: 1 },
    }),
  })
  reader = ((await minted.json()) as { token: string }).token
})
afterAll(() => server?.close())

describe('the SDK and the server’s rate limit', () => {
  it('waits for Retry-After on 429, then retries and gets the value', async () => {
    const statuses: number[] = []
    let retryAfter = 0
    const sdk = server.client(reader, {
      fetch: async (input, init) => {
        const res = await fetch(input, init)
        statuses.push(res.status)
        if (res.status === 429) retryAfter = Number(res.headers.get('retry-after'))
        return res
      },
    })
    expect((await sdk.keys.getValue('openai')).value).toBe('sk-sdk-rate-limit')
    const started = performance.now()
    expect((await sdk.keys.getValue('openai')).value).toBe('sk-sdk-rate-limit')
    const waited = performance.now() - started
    expect(statuses).toEqual([200, 429, 200])
    // As long as the server's Retry-After said (whole seconds), not the client's 10-50 ms
    // backoff.
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(waited).toBeGreaterThanOrEqual(retryAfter * 1000 - 50)
  })

  it('gives up with RateLimitError when retries are off', async () => {
    const sdk = server.client(reader, { maxRetries: 0 })
    await sdk.keys.getValue('openai').catch(() => undefined)
    const error = await sdk.keys.getValue('openai').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error).toMatchObject({ status: 429, code: 'rate_limited' })
  })
})
