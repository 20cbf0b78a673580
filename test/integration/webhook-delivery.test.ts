import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

/** Real time plus an offset the test moves, instead of sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset }

let stack: Stack
let receiver: WebhookReceiver
beforeAll(async () => {
  stack = await startStack({
    clock,
    env: {
      // Sessions outlive the clock's jumps of days in these tests.
      KEYSTASH_SESSION_TTL_SECONDS: String(30 * 86400),
      // The receivers listen on 127.0.0.1 (webhook-ssrf.test.ts covers the refusals).
      KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true',
    },
  })
})
afterAll(() => stack?.close())
afterEach(async () => {
  // Closing the receiver first answers whatever it holds, so the worker stops at once.
  await receiver?.close()
  await stack.deps.outbox.stop()
})

/** Verifies with the standardwebhooks library itself, at the time the sender signed. */
function verify(secret: string, message: { headers: Record<string, unknown>; body: string }) {
  vi.useFakeTimers({ toFake: ['Date'], now: clock.now() })
  try {
    return new Webhook(secret).verify(message.body, message.headers as Record<string, string>)
  } finally {
    vi.useRealTimers()
  }
}

async function setUp(eventTypes?: string[]) {
  receiver = await startWebhookReceiver()
  const api = client(stack.app)
  const user = await signup(api)
  const hook = await api.post(
    '/v1/webhooks',
    { url: receiver.url, ...(eventTypes ? { eventTypes } : {}) },
    user.session,
  )
  expect(hook.status).toBe(201)
  return { api, ...user, webhookId: hook.body.id as string, secret: hook.body.secret as string }
}

describe('webhook delivery', () => {
  it('delivers events from key changes, signed per Standard Webhooks, without values', async () => {
    const { api, session, secret, tenantId } = await setUp()
    await api.post('/v1/keys', { name: 'openai', value: 'sk-first-secret-value' }, session)
    await api.put('/v1/keys/openai/value', { value: 'sk-second-secret-value' }, session)
    expect((await api.delete('/v1/keys/openai', session)).status).toBe(204)

    await stack.deps.outbox.runNow()
    expect(receiver.received).toHaveLength(2)
    // Deliveries go out in parallel: their order is not fixed.
    const payloads = receiver.received
      .map((m) => verify(secret, m) as Record<string, any>)
      .sort((a, b) => a.type.localeCompare(b.type))
    expect(payloads.map((p) => p.type)).toEqual(['key.deleted', 'key.version_created'])
    expect(payloads[0]?.data).toMatchObject({ name: 'openai', versions: 2 })
    expect(payloads[1]?.data).toMatchObject({ name: 'openai', version: 2 })
    for (const message of receiver.received) {
      expect(message.headers['webhook-id']).toMatch(/^msg_/)
      expect(message.body).not.toContain('secret-value')
    }
    // Tampering is caught by the receiver's own verification.
    const first = receiver.received[0]
    expect(() =>
      verify(secret, { headers: first?.headers ?? {}, body: `${first?.body} ` }),
    ).toThrow()
    expect(tenantId).toBeDefined()
  })

  it('sends only subscribed types, and a test event on request', async () => {
    const { api, session, webhookId, secret } = await setUp(['token.revoked'])
    const token = await api.post(
      '/v1/tokens',
      { name: 'ci', scopes: ['keys:read'], expiresIn: 3600 },
      session,
    )
    await api.post('/v1/keys', { name: 'k', value: 'v' }, session)
    await api.delete('/v1/keys/k', session)
    expect((await api.delete(`/v1/tokens/${token.body.id}`, session)).status).toBe(204)
    // Revoking again reports nothing new.
    expect((await api.delete(`/v1/tokens/${token.body.id}`, session)).status).toBe(204)
    const test = await api.post(`/v1/webhooks/${webhookId}/test`, {}, session)
    expect(test.status).toBe(202)
    expect(test.body).toMatchObject({ eventType: 'webhook.test', status: 'pending' })

    await stack.deps.outbox.runNow()
    const types = receiver.received.map((m) => (verify(secret, m) as { type: string }).type)
    expect(types.sort()).toEqual(['token.revoked', 'webhook.test'])

    const log = await api.get(`/v1/webhooks/${webhookId}/deliveries`, session)
    expect(log.status).toBe(200)
    expect(log.body.items).toHaveLength(2)
    for (const delivery of log.body.items) {
      expect(delivery.status).toBe('succeeded')
      expect(delivery.attempts).toEqual([
        expect.objectContaining({ attempt: 1, statusCode: 200, error: null, nextRetryAt: null }),
      ])
      expect(delivery.attempts[0].latencyMs).toBeGreaterThanOrEqual(0)
    }
  })

  it('retries a receiver that fails 3 times, with the same webhook-id, until it succeeds', async () => {
    const { api, session, webhookId, secret } = await setUp()
    receiver.answers.push(500, 503, 429)
    await api.post(`/v1/webhooks/${webhookId}/test`, {}, session)
    for (let attempt = 1; attempt <= 4; attempt++) {
      await stack.deps.outbox.runNow()
      expect(receiver.received).toHaveLength(attempt)
      const [delivery] = (await api.get(`/v1/webhooks/${webhookId}/deliveries`, session)).body.items
      if (attempt < 4) {
        expect(delivery.status).toBe('pending')
        // Not before it is due: another pass now sends nothing.
        await stack.deps.outbox.runNow()
        expect(receiver.received).toHaveLength(attempt)
        clock.offset = Date.parse(delivery.nextAttemptAt) - Date.now() + 1
      } else {
        expect(delivery.status).toBe('succeeded')
        expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([
          500, 503, 429, 200,
        ])
        expect(
          delivery.attempts.slice(0, 3).every((a: { nextRetryAt: string }) => a.nextRetryAt),
        ).toBe(true)
      }
    }
    const ids = new Set(receiver.received.map((m) => m.headers['webhook-id']))
    expect(ids.size).toBe(1)
    for (const message of receiver.received.slice(-1)) verify(secret, message)
    clock.offset = 0
  })

  it('a receiver that hangs does not delay the request that caused the event', async () => {
    const { api, session } = await setUp()
    receiver.answers.push('hang')
    await api.post('/v1/keys', { name: 'slow', value: 'v1' }, session)
    stack.deps.outbox.start()
    const res = await api.put('/v1/keys/slow/value', { value: 'v2' }, session)
    expect(res.status).toBe(200)
    // The delivery the request caused is under way (or about to be), and nobody gave up on it.
    await receiver.waitFor(1)
    expect(receiver.hanging).toBe(1)
    expect(receiver.abandoned).toBe(0)
  })
  it('disables an endpoint after 5 days of failures, and says so with webhook.disabled', {
    timeout: 60_000,
  }, async () => {
    const { api, session, webhookId } = await setUp()
    const watcher = await startWebhookReceiver()
    try {
      const other = await api.post(
        '/v1/webhooks',
        { url: watcher.url, eventTypes: ['webhook.disabled'] },
        session,
      )
      receiver.answers.push(...Array<number>(60).fill(500))
      await api.post('/v1/keys', { name: 'k', value: 'v' }, session)
      await api.delete('/v1/keys/k', session)
      type Delivery = {
        messageId: string
        status: string
        nextAttemptAt: string | null
        attempts: unknown[]
      }
      // The key's events may each have a delivery: the first to fail for 5 days disables the
      // endpoint, and the endpoint's other deliveries are then cancelled.
      let deliveries: Delivery[]
      for (;;) {
        await stack.deps.outbox.runNow()
        deliveries = (await api.get(`/v1/webhooks/${webhookId}/deliveries`, session)).body.items
        const pending = deliveries.filter((d) => d.status === 'pending')
        if (pending.length === 0) break
        const next = Math.min(...pending.map((d) => Date.parse(d.nextAttemptAt ?? '')))
        clock.offset = next - Date.now() + 1
      }
      // Each delivery ends failed (its own retries ran out) or cancelled (the endpoint was
      // disabled first: backoff has jitter, so which comes first varies); none succeeded.
      expect(deliveries.every((d) => d.status === 'failed' || d.status === 'cancelled')).toBe(true)
      const longest = deliveries.reduce((a, b) => (b.attempts.length > a.attempts.length ? b : a))
      expect(longest.attempts.length).toBeGreaterThan(10)
      // Every attempt of that delivery, over 5 days, carried its one webhook-id.
      const attemptsOfLongest = receiver.received.filter(
        (r) => r.headers['webhook-id'] === longest.messageId,
      )
      expect(attemptsOfLongest).toHaveLength(longest.attempts.length)

      const hook = (await api.get(`/v1/webhooks/${webhookId}`, session)).body
      expect(hook).toMatchObject({ enabled: false, disabledReason: 'failing' })
      await stack.deps.outbox.runNow()
      expect(watcher.received).toHaveLength(1)
      const event = JSON.parse(watcher.received[0]?.body ?? '{}')
      expect(event).toMatchObject({ type: 'webhook.disabled', data: { webhookId } })
      expect(other.body.id).not.toBe(webhookId)

      // Turned back on by a person: healthy again, with no failure history.
      const enabled = await api.patch(`/v1/webhooks/${webhookId}`, { enabled: true }, session)
      expect(enabled.body).toMatchObject({
        enabled: true,
        disabledReason: null,
        failingSince: null,
      })
    } finally {
      await watcher.close()
      clock.offset = 0
    }
  })
})
