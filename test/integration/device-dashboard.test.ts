import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardAgent } from '../support/dashboard-forms.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

// The person's side of a device login in the dashboard: type the code (it is never in a
// link), see the device's address and host, approve or deny; only with a session and its
// CSRF token.

let now = Date.now()
const clock = { now: () => now }
let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({ clock, env: { KEYSTASH_DEVICE_POLL_SECONDS: '1' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

let counter = 0
async function signedIn() {
  const agent = dashboardAgent(stack.app)
  await agent.get('/signup')
  const email = `device${++counter}-${Date.now()}@example.com`
  const { res } = await agent.post('/signup', { email, password: 'correct horse battery staple' })
  expect(res.status).toBe(303)
  await agent.get('/device')
  return agent
}

const newCode = async () =>
  (await api.post('/v1/auth/device/code', { clientHost: 'laptop-of-ada' })).body as {
    device_code: string
    user_code: string
  }

describe('device login pages', () => {
  it('shows the device before approving it, and the device then gets its session', async () => {
    const agent = await signedIn()
    const code = await newCode()
    const shown = await agent.post('/device', { code: code.user_code.toLowerCase() })
    expect(shown.res.status).toBe(200)
    expect(shown.text).toContain('laptop-of-ada')
    expect(shown.text).toContain(code.user_code)
    expect(shown.text).toContain('action="/device/approve"')

    // Without the page's CSRF token, nothing is approved.
    expect(
      (await agent.post('/device/approve', { code: code.user_code }, { csrf: null })).res.status,
    ).toBe(403)
    const approved = await agent.post('/device/approve', { code: code.user_code })
    expect(approved.res.status).toBe(200)
    expect(approved.text).toContain('Return to your terminal')
    now += 1_000
    const done = await api.post('/v1/auth/device/token', { device_code: code.device_code })
    expect(done.status).toBe(200)
    expect((await api.get('/v1/me', done.body.session.token)).body.kind).toBe('session')
  })

  it('denies a device, and says so for a code nobody is waiting with', async () => {
    const agent = await signedIn()
    const code = await newCode()
    expect((await agent.post('/device/deny', { code: code.user_code })).text).toContain(
      'not signed in',
    )
    now += 1_000
    expect(
      (await api.post('/v1/auth/device/token', { device_code: code.device_code })).body.error,
    ).toBe('access_denied')
    const unknown = await agent.post('/device', { code: 'BCDF-GHJK' })
    expect(unknown.res.status).toBe(404)
    expect(unknown.text).toContain('No device is waiting with this code')
  })

  it('sends a signed-out visitor to sign in first', async () => {
    const res = await stack.app.request('/device')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login')
  })
})
