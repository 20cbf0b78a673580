import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PermissionDeniedError } from '../../sdk/src/index.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

let server: SdkServer
beforeAll(async () => {
  server = await startSdkServer()
})
afterAll(() => server?.close())

describe('SDK: webhooks and key lifetime', { timeout: 60_000 }, () => {
  it('manages endpoints from a session, and refuses an access token', async () => {
    const { session } = await server.signup()
    const owner = server.client(session)
    const created = await owner.webhooks.create({
      url: 'https://hooks.example.com/keystash',
      eventTypes: ['key.expiring'],
    })
    expect(created.secret).toMatch(/^whsec_/)
    expect((await owner.webhooks.list()).map((w) => w.id)).toEqual([created.id])
    const updated = await owner.webhooks.update(created.id, { description: 'ops' })
    expect(updated.description).toBe('ops')
    const rotated = await owner.webhooks.rotateSecret(created.id, { overlapSeconds: 60 })
    expect(rotated.secret).not.toBe(created.secret)
    const queued = await owner.webhooks.test(created.id)
    expect(queued.eventType).toBe('webhook.test')
    const log = await owner.webhooks.deliveries(created.id)
    expect(log.items.map((d) => d.messageId)).toEqual([queued.messageId])

    const { token } = await owner.tokens.create({
      name: 'app',
      scopes: ['org:admin'],
      expiresIn: 600,
    })
    await expect(server.client(token).webhooks.list()).rejects.toBeInstanceOf(PermissionDeniedError)
    await owner.webhooks.delete(created.id)
    expect(await owner.webhooks.list()).toEqual([])
  })

  it('stores a key’s lifetime and filters listings by it', async () => {
    const { session } = await server.signup()
    const owner = server.client(session)
    const expiresAt = new Date(Date.now() + 5 * 86_400_000).toISOString()
    await owner.keys.create({ name: 'soon', value: 'v', expiresAt, rotateEveryDays: 30 })
    await owner.keys.create({ name: 'later', value: 'v' })
    const soon = await owner.keys.list({ expiringWithinDays: 7 }).toArray()
    expect(soon.map((k) => [k.name, k.expiresAt, k.rotateEveryDays])).toEqual([
      ['soon', expiresAt, 30],
    ])
    expect((await owner.keys.list({ neverUsed: 'true' }).toArray()).length).toBe(2)
  })
})
