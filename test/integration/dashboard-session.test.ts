import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardAgent, sessionCookieOf } from '../support/dashboard-forms.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

// The dashboard's browser session over `app.request()`: cookie flags, CSRF and Origin checks,
// step-up, logout, tenant isolation and the headers of every page. test/e2e drives a browser.

let now = Date.now()
const clock = { now: () => now }
let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack({ clock })
  api = client(stack.app)
})
afterAll(() => stack?.close())

const password = 'correct horse battery staple'
let counter = 0
async function signedUp(app = stack.app) {
  const agent = dashboardAgent(app)
  const email = `dash${++counter}-${Date.now()}@example.com`
  await agent.get('/signup')
  const { res } = await agent.post('/signup', { email, password })
  expect(res.status).toBe(303)
  await agent.get('/keys')
  return { agent, email }
}

describe('pages and headers', () => {
  it('sends a signed-out visitor to sign in, with the page headers on the redirect', async () => {
    const res = await stack.app.request('/')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{20,}'(;|$)/)
    expect(csp).not.toContain('unsafe-inline')
  })

  it('gives each page a fresh nonce that matches its script tag', async () => {
    const first = await stack.app.request('/login')
    const second = await stack.app.request('/login')
    const nonceOf = (res: Response) =>
      /'nonce-([^']+)'/.exec(res.headers.get('content-security-policy') ?? '')?.[1]
    const html = await first.text()
    expect(nonceOf(first)).toBeTruthy()
    expect(nonceOf(first)).not.toBe(nonceOf(second))
    expect(html).toContain(`<script nonce="${nonceOf(first)}" src="/assets/dashboard.js"`)
    expect(first.headers.get('cache-control')).toBe('no-store')
  })

  it('serves its script and styles from the server itself', async () => {
    const js = await stack.app.request('/assets/dashboard.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('text/javascript')
    expect(await js.text()).toContain('HIDE_AFTER_SECONDS = 30')
    expect((await stack.app.request('/assets/nothing.js')).status).toBe(404)
  })

  it('lists on the review page the keys to replace: overdue, or expiring at the provider', async () => {
    const { agent, email } = await signedUp()
    const session = agent.state.cookie?.split('=')[1] ?? ''
    const day = 86400_000
    await api.post('/v1/keys', { name: 'review-fine', value: 'v-fine' }, session)
    await api.post(
      '/v1/keys',
      {
        name: 'review-expiring',
        value: 'v-exp',
        expiresAt: new Date(now + 10 * day).toISOString(),
      },
      session,
    )
    await api.post(
      '/v1/keys',
      { name: 'review-policy', value: 'v-pol', rotateEveryDays: 30 },
      session,
    )
    const before = (await agent.get('/')).text
    expect(before).toContain('Keys to replace at the provider (1)')
    expect(before).toContain('review-expiring')
    // 31 days on (a new sign-in: sessions do not last that long), the 30-day policy is overdue.
    now += 31 * day
    try {
      await agent.get('/login')
      expect((await agent.post('/login', { email, password })).res.status).toBe(303)
      const after = (await agent.get('/')).text
      expect(after).toContain('Keys to replace at the provider (2)')
      expect(after).toMatch(/review-policy<\/strong> · replacement due/)
      const dueSection = after.slice(after.indexOf('id="keys-due"'), after.indexOf('id="keys-30"'))
      expect(dueSection).toContain('review-expiring')
      expect(dueSection).not.toContain('review-fine')
    } finally {
      now -= 31 * day
    }
  })

  it('leaves the API as it was: JSON only, bearer only', async () => {
    const res = await stack.app.request('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=a%40b.c&password=x',
    })
    expect(res.status).toBe(415)
    const { agent } = await signedUp()
    const withCookieOnly = await stack.app.request('/v1/keys', {
      headers: { cookie: agent.state.cookie ?? '' },
    })
    expect(withCookieOnly.status).toBe(401)
  })
})

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict and scoped to the whole site over plain HTTP', async () => {
    const agent = dashboardAgent(stack.app)
    const { res } = await agent.post('/signup', {
      email: `cookie-${Date.now()}@example.com`,
      password,
    })
    const cookie = sessionCookieOf(res)
    expect(cookie?.pair).toMatch(/^keystash_session=eyJ/)
    expect(cookie?.attributes).toMatch(/HttpOnly/)
    expect(cookie?.attributes).toMatch(/SameSite=Strict/)
    expect(cookie?.attributes).toMatch(/Path=\//)
    expect(cookie?.attributes).not.toMatch(/Secure/)
  })

  it('is __Host- and Secure when the public URL is HTTPS, and Origin must be that URL', async () => {
    const app = stack.another({ KEYSTASH_PUBLIC_URL: 'https://vault.example.com' })
    const wrong = dashboardAgent(app, 'http://localhost')
    const refused = await wrong.post('/signup', { email: `h-${Date.now()}@example.com`, password })
    expect(refused.res.status).toBe(403)
    expect(refused.text).toContain('csrf_rejected')

    const agent = dashboardAgent(app, 'https://vault.example.com')
    const { res } = await agent.post('/signup', {
      email: `host-${Date.now()}@example.com`,
      password,
    })
    expect(res.status).toBe(303)
    const cookie = sessionCookieOf(res)
    expect(cookie?.pair).toMatch(/^__Host-keystash_session=/)
    expect(cookie?.attributes).toMatch(/Secure/)
    expect(cookie?.attributes).toMatch(/HttpOnly/)
  })

  it('never accepts an access token in place of a session', async () => {
    const user = await signup(api)
    const token = await tokenMinter(api, user.session)({ scopes: ['keys:list'] })
    const res = await stack.app.request('/keys', {
      headers: { cookie: `keystash_session=${token}` },
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login')
  })

  it('ends on the server at sign-out: the same token no longer works anywhere', async () => {
    const { agent } = await signedUp()
    const token = agent.state.cookie?.split('=')[1] ?? ''
    expect((await api.get('/v1/me', token)).status).toBe(200)
    const out = await agent.post('/logout', {})
    expect(out.res.status).toBe(303)
    expect(sessionCookieOf(out.res)?.pair).toBe('keystash_session=')
    expect((await api.get('/v1/me', token)).status).toBe(401)
    const again = await stack.app.request('/keys', {
      headers: { cookie: `keystash_session=${token}` },
    })
    expect(again.headers.get('location')).toBe('/login')
  })

  it('shows a wrong password as an error on the sign-in page', async () => {
    const { email } = await signedUp()
    const agent = dashboardAgent(stack.app)
    const { res, text } = await agent.post('/login', { email, password: 'not the password at all' })
    expect(res.status).toBe(401)
    expect(text).toContain('The e-mail address or the password is wrong.')
    expect(sessionCookieOf(res)).toBeUndefined()
  })
})

describe('state-changing requests', () => {
  it('need the session’s CSRF token', async () => {
    const { agent } = await signedUp()
    for (const csrf of [null, 'forged', `${agent.state.csrf}x`]) {
      const { res, text } = await agent.post('/keys', { name: 'nope', value: 'v' }, { csrf })
      expect(res.status).toBe(403)
      expect(text).toContain('csrf_rejected')
    }
    const made = await agent.post('/keys', { name: 'made', value: 'sk-made-1' })
    expect(made.res.status).toBe(303)
    expect(made.res.headers.get('location')).toMatch(/^\/keys\/key_/)
  })

  it('need a same-origin Origin (or Sec-Fetch-Site: same-origin)', async () => {
    const { agent } = await signedUp()
    const cross = await agent.post(
      '/keys',
      { name: 'x', value: 'v' },
      { origin: 'https://evil.example' },
    )
    expect(cross.res.status).toBe(403)
    const none = await agent.post('/keys', { name: 'x', value: 'v' }, { origin: null })
    expect(none.res.status).toBe(403)
    const res = await stack.app.request('/keys', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'same-origin',
        cookie: agent.state.cookie ?? '',
      },
      body: new URLSearchParams({ csrf: agent.state.csrf ?? '', name: 'fetched', value: 'v1' }),
    })
    expect(res.status).toBe(303)
  })

  it('answer bad input with its stable code, as a page or as problem+json', async () => {
    const { agent } = await signedUp()
    const page = await agent.post('/keys', { name: 'bad name!', value: 'v' })
    expect(page.res.status).toBe(422)
    expect(page.text).toContain('validation_failed')
    const json = await agent.post('/keys', { name: 'bad name!', value: 'v' }, { json: true })
    expect(json.res.headers.get('content-type')).toContain('application/problem+json')
    expect(JSON.parse(json.text)).toMatchObject({ code: 'validation_failed', status: 422 })
  })
})

describe('reveal and step-up', () => {
  it('reveals after a recent password check, and asks again once it is older than 5 minutes', async () => {
    const { agent } = await signedUp()
    const made = await agent.post('/keys', { name: 'stripe', value: 'sk_live_reveal_me_123' })
    const path = `${made.res.headers.get('location')}/reveal`

    const fresh = await agent.post(path, {}, { json: true })
    expect(fresh.res.status).toBe(200)
    expect(fresh.res.headers.get('cache-control')).toBe('no-store')
    expect(JSON.parse(fresh.text)).toMatchObject({ value: 'sk_live_reveal_me_123', version: 1 })

    now += 6 * 60_000
    const stale = await agent.post(path, {}, { json: true })
    expect(stale.res.status).toBe(403)
    expect(JSON.parse(stale.text)).toMatchObject({ code: 'step_up_required' })

    const wrong = await agent.post('/step-up', { password: 'wrong password here' }, { json: true })
    expect(wrong.res.status).toBe(401)
    const oldCookie = agent.state.cookie
    const confirmed = await agent.post('/step-up', { password }, { json: true })
    expect(confirmed.res.status).toBe(200)
    expect(agent.state.cookie).not.toBe(oldCookie)
    agent.state.csrf = JSON.parse(confirmed.text).csrf
    const again = await agent.post(path, {}, { json: true })
    expect(JSON.parse(again.text).value).toBe('sk_live_reveal_me_123')
    // The replaced session is revoked.
    const old = await stack.app.request('/keys', { headers: { cookie: oldCookie ?? '' } })
    expect(old.headers.get('location')).toBe('/login')
  })
})

describe('tenant isolation', () => {
  it('answers another tenant’s key and token exactly like missing ones', async () => {
    const owner = await signedUp()
    const made = await owner.agent.post('/keys', { name: 'theirs', value: 'sk-theirs-123' })
    const keyPath = made.res.headers.get('location') ?? ''
    const other = await signedUp()
    const missing = await other.agent.get('/keys/key_00000000000000000000000000')
    const foreign = await other.agent.get(keyPath)
    expect(foreign.res.status).toBe(404)
    expect(missing.res.status).toBe(404)
    // The same page but for the request id and the nonce.
    const comparable = (html: string) =>
      html.replace(/req_[0-9a-z]+/gi, 'REQ').replace(/nonce="[^"]+"/g, 'NONCE')
    expect(comparable(foreign.text)).toBe(comparable(missing.text))
    const reveal = await other.agent.post(`${keyPath}/reveal`, {}, { json: true })
    expect(reveal.res.status).toBe(404)
    expect(reveal.text).not.toContain('sk-theirs-123')
  })
})

describe('secrets of the browser session', () => {
  it('keep the value, the session and its CSRF token out of logs and stored items', async () => {
    const { agent } = await signedUp()
    const value = `sk-dashcanary-${Date.now()}-value`
    const made = await agent.post('/keys', { name: 'dash-canary', value })
    const path = made.res.headers.get('location') ?? ''
    const revealed = await agent.post(`${path}/reveal`, {}, { json: true })
    expect(JSON.parse(revealed.text).value).toBe(value)
    await agent.post(`${path}/versions`, { value: `${value}-2` })
    await agent.post('/keys', { name: 'bad name!', value })
    await stack.deps.audit.flush?.()
    const session = agent.state.cookie?.split('=')[1] ?? ''
    const csrf = agent.state.csrf ?? ''
    const logs = stack.logs.text()
    const scan = await stack.table.doc.send(new ScanCommand({ TableName: stack.table.tableName }))
    const stored = JSON.stringify(scan.Items)
    for (const secret of [value, session, csrf]) {
      expect(logs).not.toContain(secret)
      expect(stored).not.toContain(secret)
    }
  })
})
