import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

/** Real time plus an offset the test moves, instead of sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset }
const DAY = 86_400_000

let stack: Stack
let receiver: WebhookReceiver
beforeAll(async () => {
  stack = await startStack({
    clock,
    env: { KEYSTASH_UNUSED_AFTER_DAYS: '30', KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' },
  })
  receiver = await startWebhookReceiver()
})
afterAll(async () => {
  await receiver?.close()
  await stack?.close()
})

describe('reminders', () => {
  it('fire at each threshold exactly once across two instances sharing the table', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const hook = await api.post('/v1/webhooks', { url: receiver.url }, session)
    const secret = hook.body.secret as string
    const start = clock.now()
    const at = (days: number) => new Date(start + days * DAY).toISOString()
    await api.post(
      '/v1/keys',
      { name: 'stripe', value: 'sk_live_reminded', expiresAt: at(40), rotateEveryDays: 20 },
      session,
    )
    await api.post(
      '/v1/tokens',
      { name: 'ci', scopes: ['keys:read'], expiresIn: 10 * 86_400 },
      session,
    )

    // Two instances poll the same table; a third starts later, as after a restart.
    const one = stack.deps
    const two = stack.anotherInstance().deps
    let instances = [one, two]
    for (let day = 0; day <= 45; day++) {
      clock.offset = day * DAY + 60_000
      if (day === 25) instances = [two, stack.anotherInstance().deps]
      // Days 32 to 35 pass with every instance down; what fell due fires on the next pass.
      if (day > 31 && day < 36) continue
      await Promise.all(instances.map((i) => i.reminders.runNow()))
      await Promise.all(instances.map((i) => i.outbox.runNow()))
    }

    const events = receiver.received.map((message) => {
      vi.useFakeTimers({
        toFake: ['Date'],
        now: Number(message.headers['webhook-timestamp']) * 1000,
      })
      try {
        return new Webhook(secret).verify(
          message.body,
          message.headers as Record<string, string>,
        ) as {
          type: string
          data: Record<string, unknown>
        }
      } finally {
        vi.useRealTimers()
      }
    })
    const summary = events.map((e) => `${e.type}${e.data.daysLeft ? `:${e.data.daysLeft}` : ''}`)
    expect(summary.sort()).toEqual(
      [
        'key.expiring:30', // day 10
        'key.rotation_due', // day 20
        'key.unused', // day 30
        'key.expiring:7', // due day 33, while every instance was down: fired on day 36
        'key.expiring:1', // day 39
        'token.expiring:30', // at once: the token lives 10 days
        'token.expiring:7', // day 3
        'token.expiring:1', // day 9
      ].sort(),
    )
    expect(new Set(receiver.received.map((m) => m.headers['webhook-id'])).size).toBe(8)
    const expiring = events.find((e) => e.type === 'key.expiring')
    expect(expiring?.data).toMatchObject({ name: 'stripe', expiresAt: at(40) })
    for (const message of receiver.received) expect(message.body).not.toContain('sk_live')
    clock.offset = 0
  })
})
