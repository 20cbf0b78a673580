import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

// The device login's rules over the API, with a clock the test moves instead of waiting:
// polling intervals and slow_down, expiry, one session per approval, no wider than the
// approver's, and approvals only from people's sessions.

let now = Date.now()
const clock = { now: () => now }
let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack({
    clock,
    env: { KEYSTASH_PUBLIC_URL: 'https://vault.example.com', KEYSTASH_DEVICE_POLL_SECONDS: '5' },
  })
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function newCode() {
  const res = await api.post('/v1/auth/device/code', { clientHost: 'build-box-7' })
  expect(res.status).toBe(200)
  return res.body as {
    device_code: string
    user_code: string
    verification_uri: string
    expires_in: number
    interval: number
  }
}
const poll = (deviceCode: string) => api.post('/v1/auth/device/token', { device_code: deviceCode })

describe('device login', () => {
  it('gives a code to type on the public URL, never a link that carries it', async () => {
    const code = await newCode()
    expect(code.verification_uri).toBe('https://vault.example.com/device')
    expect(code.verification_uri).not.toContain(code.user_code)
    expect(code.user_code).toMatch(/^[B-Z]{4}-[B-Z]{4}$/)
    expect(code.expires_in).toBeLessThanOrEqual(600)
    expect(code.interval).toBe(5)
  })

  it('answers pending, then slow_down with a longer interval to a client that polls too fast', async () => {
    const code = await newCode()
    const first = await poll(code.device_code)
    expect([first.status, first.body.code, first.body.error]).toEqual([
      400,
      'device_authorization_pending',
      'authorization_pending',
    ])
    const fast = await poll(code.device_code)
    expect([fast.body.code, fast.body.error, fast.body.interval]).toEqual([
      'device_slow_down',
      'slow_down',
      10,
    ])
    now += 6_000 // enough for the first interval, not for the new one
    expect((await poll(code.device_code)).body.interval).toBe(15)
    now += 15_000
    expect((await poll(code.device_code)).body.code).toBe('device_authorization_pending')
  })

  it('issues one session per approval, ending no later than the approving session', async () => {
    const person = await signup(api)
    const code = await newCode()
    const seen = await api.post(
      '/v1/auth/device/lookup',
      { userCode: code.user_code },
      person.session,
    )
    expect(seen.body).toMatchObject({ clientHost: 'build-box-7', userCode: code.user_code })
    // Typed in lower case and without the dash, it is the same code.
    const typed = code.user_code.toLowerCase().replace('-', '')
    expect(
      (await api.post('/v1/auth/device/approve', { userCode: typed }, person.session)).status,
    ).toBe(200)
    now += 5_000
    const done = await poll(code.device_code)
    expect(done.status).toBe(200)
    const device = await api.get('/v1/me', done.body.session.token)
    expect(device.body).toMatchObject({
      kind: 'session',
      userId: person.userId,
      tenantId: person.tenantId,
    })
    const approver = await api.get('/v1/me', person.session)
    expect(Date.parse(device.body.expiresAt)).toBeLessThanOrEqual(
      Date.parse(approver.body.expiresAt),
    )
    now += 5_000
    expect((await poll(code.device_code)).body.code).toBe('device_code_expired')
    // Approving again is refused: the code is no longer waiting.
    expect(
      (await api.post('/v1/auth/device/approve', { userCode: typed }, person.session)).status,
    ).toBe(404)
  })

  it('caps the device session at the approving session’s end', async () => {
    const person = await signup(api)
    // Eleven of the twelve hours of the approver's session have passed.
    now += 11 * 3600_000
    const code = await newCode()
    await api.post('/v1/auth/device/approve', { userCode: code.user_code }, person.session)
    now += 5_000
    const done = await poll(code.device_code)
    const approver = await api.get('/v1/me', person.session)
    expect(done.body.session.expiresAt).toBe(approver.body.expiresAt)
  })

  it('answers access_denied after a denial, expired_token after ten minutes', async () => {
    const person = await signup(api)
    const denied = await newCode()
    await api.post('/v1/auth/device/deny', { userCode: denied.user_code }, person.session)
    now += 5_000
    expect((await poll(denied.device_code)).body.error).toBe('access_denied')

    const late = await newCode()
    now += 601_000
    expect((await poll(late.device_code)).body.error).toBe('expired_token')
    const tooLate = await api.post(
      '/v1/auth/device/approve',
      { userCode: late.user_code },
      person.session,
    )
    expect(tooLate.status).toBe(404)
    expect((await poll('not-a-device-code')).body.error).toBe('expired_token')
  })

  it('is approved by people only: an access token cannot', async () => {
    const person = await signup(api)
    const token = await tokenMinter(api, person.session)({ scopes: ['keys:read'] })
    const code = await newCode()
    const res = await api.post('/v1/auth/device/approve', { userCode: code.user_code }, token)
    expect([res.status, res.body.code]).toEqual([403, 'session_required'])
    expect(
      (await api.post('/v1/auth/device/lookup', { userCode: code.user_code }, token)).status,
    ).toBe(403)
  })
})
