import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/**
 * Webhook URLs are tenant input: the server must not be led to its own network. Literal
 * addresses are refused when the endpoint is saved; names are judged where the connection is
 * made, so a delivery to a name resolving to a private address fails with nothing sent.
 */
let stack: Stack
beforeAll(async () => {
  // Production settings as an operator would have them: no local addresses allowed.
  stack = await startStack()
})
afterAll(() => stack?.close())

describe('webhook URLs and SSRF', () => {
  it.each([
    ['loopback', 'https://127.0.0.1/hooks'],
    ['loopback, IPv6', 'https://[::1]/hooks'],
    ['private', 'https://10.1.2.3/hooks'],
    ['private, 192.168', 'https://192.168.0.10:8443/hooks'],
    ['carrier-grade NAT', 'https://100.64.0.1/hooks'],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped IPv6', 'https://[::ffff:127.0.0.1]/hooks'],
    ['IPv4-mapped IPv6 of metadata', 'https://[::ffff:a9fe:a9fe]/'],
    ['unspecified', 'https://0.0.0.0/hooks'],
    ['plain http in production', 'http://hooks.example.com/'],
  ])('refuses %s when the endpoint is saved', async (_name, url) => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const res = await api.post('/v1/webhooks', { url }, session)
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(res.body.code).toBe('url_refused')
    expect(res.body.reason).toMatch(/^outbound_(address|scheme)$/)
    // An update cannot slip it in either.
    const ok = await api.post('/v1/webhooks', { url: 'https://hooks.example.com/' }, session)
    const update = await api.patch(`/v1/webhooks/${ok.body.id}`, { url }, session)
    expect(update.status).toBe(422)
    expect(update.body.code).toBe('url_refused')
    expect((await api.get('/v1/webhooks', session)).body.items).toHaveLength(1)
  })

  it('refuses at connect time a name that resolves to a private address', async () => {
    const receiver = await startWebhookReceiver()
    try {
      const api = client(stack.app)
      const { session } = await signup(api)
      const port = new URL(receiver.url).port
      // `localhost` is a name: saved, then refused where the connection would be made.
      const hook = await api.post(
        '/v1/webhooks',
        { url: `https://localhost:${port}/hooks` },
        session,
      )
      expect(hook.status).toBe(201)
      await api.post(`/v1/webhooks/${hook.body.id}/test`, {}, session)
      await stack.deps.outbox.runNow()
      const [delivery] = (await api.get(`/v1/webhooks/${hook.body.id}/deliveries`, session)).body
        .items
      expect(delivery.status).toBe('pending')
      expect(delivery.attempts[0]).toMatchObject({ statusCode: null, error: 'outbound_address' })
      expect(receiver.received).toHaveLength(0)
    } finally {
      await receiver.close()
    }
  })

  it('never follows a redirect, even from an allowed receiver', async () => {
    const receiver = await startWebhookReceiver()
    try {
      // An operator who allows local receivers (development): the redirect is still refused.
      const local = stack.anotherInstance({ KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' })
      const api = client(local.app)
      const { session } = await signup(api)
      const hook = await api.post('/v1/webhooks', { url: receiver.url }, session)
      expect(hook.status).toBe(201)
      receiver.answers.push(302)
      await api.post(`/v1/webhooks/${hook.body.id}/test`, {}, session)
      await local.deps.outbox.runNow()
      const [delivery] = (await api.get(`/v1/webhooks/${hook.body.id}/deliveries`, session)).body
        .items
      expect(delivery.attempts[0]).toMatchObject({ statusCode: null, error: 'outbound_redirect' })
      expect(delivery.status).toBe('pending')
      // One request: the one that was answered with the redirect.
      expect(receiver.received).toHaveLength(1)
    } finally {
      await receiver.close()
    }
  })
})
