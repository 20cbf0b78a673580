import { hostname } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client } from '../support/stack.ts'
import { type CliHarness, startCliHarness } from './cli-helpers.ts'

// `keystash login --device` from the real binary against a real server on a port: the person
// approves (or denies) in their own session, through the API the dashboard's pages also call.

let cli: CliHarness
let shortLived: CliHarness
beforeAll(async () => {
  ;[cli, shortLived] = await Promise.all([
    startCliHarness({ KEYSTASH_DEVICE_POLL_SECONDS: '1' }),
    startCliHarness({ KEYSTASH_DEVICE_POLL_SECONDS: '1', KEYSTASH_DEVICE_CODE_TTL_SECONDS: '2' }),
  ])
})
afterAll(async () => {
  await cli?.close()
  await shortLived?.close()
})

const CODE = /enter the code ([B-Z]{4}-[B-Z]{4})/

describe('keystash login --device', { timeout: 60_000 }, () => {
  it('signs in once a person approves the code, after seeing the device', async () => {
    const person = await cli.signup()
    const api = client(cli.server.stack.app)
    const running = cli.start(['login', '--device', '--url', cli.url])
    const [, userCode] = await running.stderrMatches(CODE)

    const seen = await api.post('/v1/auth/device/lookup', { userCode }, person.session)
    expect(seen.status).toBe(200)
    expect(seen.body.clientAddress).toMatch(/127\.0\.0\.1$/)
    expect(seen.body.clientHost).toBe(hostname())
    expect((await api.post('/v1/auth/device/approve', { userCode }, person.session)).status).toBe(
      200,
    )

    const result = await running.result
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`Logged in to ${cli.url}`)
    const whoami = JSON.parse((await cli.run(['whoami', '--json'])).stdout)
    expect(whoami).toMatchObject({
      kind: 'session',
      userId: person.userId,
      tenantId: person.tenantId,
    })
    // Shorter-lived than the browser's session (4 h by default against 12 h).
    const approver = (await api.get('/v1/me', person.session)).body
    expect(Date.parse(whoami.expiresAt)).toBeLessThan(Date.parse(approver.expiresAt))
    expect(Date.parse(whoami.expiresAt) - Date.now()).toBeLessThanOrEqual(4 * 3600_000)

    await cli.server.stack.deps.audit.flush()
    const events = await api.get('/v1/audit?action=auth.device.approve', person.session)
    expect(events.body.items).toHaveLength(1)
    expect(events.body.items[0]).toMatchObject({
      actor: { type: 'user', id: person.userId },
      details: { deviceHost: hostname() },
    })
  })

  it('stops with an error when the person denies it', async () => {
    const person = await cli.signup()
    const api = client(cli.server.stack.app)
    const running = cli.start(['login', '--device', '--url', cli.url])
    const [, userCode] = await running.stderrMatches(CODE)
    expect((await api.post('/v1/auth/device/deny', { userCode }, person.session)).status).toBe(200)
    const result = await running.result
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('denied')
  })

  it('stops with an error when the code expires unapproved', async () => {
    const person = await shortLived.signup()
    const running = shortLived.start(['login', '--device', '--url', shortLived.url])
    const [, userCode] = await running.stderrMatches(CODE)
    const result = await running.result
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('expired')
    // Too late to approve it now.
    const api = client(shortLived.server.stack.app)
    expect((await api.post('/v1/auth/device/approve', { userCode }, person.session)).status).toBe(
      404,
    )
  })
})
