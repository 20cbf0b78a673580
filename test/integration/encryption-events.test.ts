import type { KMSClient } from '@aws-sdk/client-kms'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  adminOnlyPolicy,
  byokPolicy,
  createTenantKey,
  setPolicy,
  tenantKms,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

let stack: Stack
let tenant: KMSClient
let receiver: WebhookReceiver
beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' } })
  tenant = tenantKms(stack.kms)
  receiver = await startWebhookReceiver()
})
afterAll(async () => {
  await receiver?.close()
  await stack?.close()
})

/** Delivers what the outbox holds until `count` messages have arrived (or a few seconds). */
async function received(count: number) {
  const deadline = Date.now() + 10_000
  while (receiver.received.length < count && Date.now() < deadline) {
    await stack.deps.outbox.runNow()
    if (receiver.received.length < count) await new Promise((r) => setTimeout(r, 100))
  }
  return receiver.received.map((m) => JSON.parse(m.body) as { type: string; data: any })
}

describe('encryption events', () => {
  it('report a KEK change, the end of its re-encryption, and a key out of reach once', {
    timeout: 60_000,
  }, async () => {
    const api = client(stack.app)
    const { session, tenantId } = await signup(api)
    const hook = await api.post('/v1/webhooks', { url: receiver.url }, session)
    await api.post('/v1/keys', { name: 'k', value: 'secret-value' }, session)
    const arn = await createTenantKey(tenant, byokPolicy(tenantId))
    const changed = await api.put(
      '/v1/org/encryption',
      { provider: 'aws-kms', keyArn: arn },
      session,
    )
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    await stack.deps.reencryption.idle()
    const first = await received(2)
    expect(first.map((e) => e.type).sort()).toEqual(['encryption.changed', 'reencryption.finished'])
    const finished = first.find((e) => e.type === 'reencryption.finished')
    expect(finished?.data).toMatchObject({ kekVersion: 2, total: 1, done: 1, failed: 0 })

    // The tenant takes Keystash out of its key policy: writes fail at once, many times over.
    await setPolicy(tenant, arn, adminOnlyPolicy())
    for (let i = 0; i < 3; i++) {
      const write = await api.put('/v1/keys/k/value', { value: `v${i}` }, session)
      expect(write.body.code).toBe('kek_access_denied')
    }
    const all = await received(3)
    // Give any duplicate the chance to arrive too: one more pass finds nothing.
    await stack.deps.outbox.runNow()
    const unreachable = all.filter((e) => e.type === 'encryption.key_unreachable')
    expect(unreachable).toHaveLength(1)
    expect(unreachable[0]?.data).toEqual({ organizationId: tenantId, code: 'kek_access_denied' })
    expect(JSON.stringify(all)).not.toContain('arn:aws')
    for (const message of receiver.received)
      new Webhook(hook.body.secret).verify(message.body, message.headers as Record<string, string>)
  })
})
