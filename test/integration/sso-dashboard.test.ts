import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrfIn, sessionCookieOf } from '../support/dashboard-forms.ts'
import { PUBLIC_URL, ssoCookieOf } from '../support/sso-flow.ts'
import { type SsoProvider, startSsoProvider } from '../support/sso-provider.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// Single sign-on through the dashboard's pages: the pre-login cookie is SameSite=Lax and
// carries no session; the session cookie (SameSite=Strict) is set only by the same-site post
// that follows the provider's cross-site redirect back.

let stack: Stack
let idp: SsoProvider
let api: ReturnType<typeof client>
beforeAll(async () => {
  idp = await startSsoProvider({ redirectUri: `${PUBLIC_URL}/auth/sso/callback` })
  stack = await startStack({
    env: { KEYSTASH_PUBLIC_URL: PUBLIC_URL, KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' },
  })
  api = client(stack.app)
})
afterAll(async () => {
  await stack?.close()
  await idp?.close()
})

async function configured(required = false) {
  const owner = await signup(api, `dash-owner-${Date.now()}-${Math.random()}@corp.example`)
  const provider = idp.clients[0]
  if (!provider) throw new Error('no client')
  const res = await api.put(
    '/v1/org/sso',
    {
      issuer: idp.issuer,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      defaultRole: 'viewer',
      required,
    },
    owner.session,
  )
  expect(res.status).toBe(200)
  const sub = `dash-${Math.random().toString(36).slice(2)}`
  idp.setAccount(sub, { email: owner.email, email_verified: true })
  idp.loginAs(sub)
  return owner
}

describe('single sign-on in the dashboard', () => {
  it('offers it on the sign-in page', async () => {
    const html = await (await stack.app.request('/login')).text()
    expect(html).toContain('href="/sso"')
  })

  it('signs in through the provider and sets the session after a same-site step', async () => {
    const owner = await configured()
    const start = await stack.app.request(`/sso/start?organization=${owner.tenantId}`)
    expect(start.status).toBe(302)
    const location = start.headers.get('location') ?? ''
    expect(location.startsWith(`${idp.issuer}/`)).toBe(true)
    const authorization = new URL(location)
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/sso/callback`)
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256')
    const preLogin = ssoCookieOf(start)
    expect(preLogin?.attributes).toMatch(/SameSite=Lax/i)
    expect(preLogin?.attributes).toMatch(/HttpOnly/i)
    expect(preLogin?.attributes).toMatch(/Max-Age=600/i)
    expect(sessionCookieOf(start)).toBeUndefined()

    const back = await idp.authorize(location)
    const callback = await stack.app.request(`${back.pathname}${back.search}`, {
      headers: { cookie: preLogin?.pair ?? '' },
    })
    expect(callback.status).toBe(200)
    const page = await callback.text()
    expect(page).toContain('action="/auth/sso/finish"')
    expect(page).toContain('data-autosubmit')
    expect(sessionCookieOf(callback)).toBeUndefined()

    // A post from another site is refused, and does not use the sign-in up.
    const foreign = await stack.app.request('/auth/sso/finish', {
      method: 'POST',
      headers: { cookie: preLogin?.pair ?? '', origin: 'https://evil.example' },
    })
    expect(foreign.status).toBe(403)

    const finish = await stack.app.request('/auth/sso/finish', {
      method: 'POST',
      headers: { cookie: preLogin?.pair ?? '', origin: PUBLIC_URL },
    })
    expect(finish.status).toBe(303)
    expect(finish.headers.get('location')).toBe('/')
    const session = sessionCookieOf(finish)
    expect(session?.attributes).toMatch(/SameSite=Strict/i)
    expect(session?.attributes).toMatch(/HttpOnly/i)
    const home = await stack.app.request('/keys', { headers: { cookie: session?.pair ?? '' } })
    expect(home.status).toBe(200)
  })

  it('shows a clear refusal for a callback that does not belong to this browser', async () => {
    const owner = await configured()
    const start = await stack.app.request(`/sso/start?organization=${owner.tenantId}`)
    const back = await idp.authorize(start.headers.get('location') ?? '')
    const stray = await stack.app.request(`${back.pathname}${back.search}`)
    expect(stray.status).toBe(400)
    expect(await stray.text()).toContain('not started in this browser')
  })

  it('refuses password sign-in where single sign-on is required, and says so', async () => {
    const owner = await configured(true)
    const res = await stack.app.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL },
      body: new URLSearchParams({ email: owner.email, password: owner.password }).toString(),
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('requires single sign-on')
    expect(sessionCookieOf(res)).toBeUndefined()
  })
})

describe('confirming through single sign-on (step-up)', () => {
  async function reauth(
    tenantId: string,
    change?: (claims: Record<string, unknown>) => Record<string, unknown>,
  ) {
    const start = await stack.app.request(`/sso/start?organization=${tenantId}&reauth=1`)
    expect(start.status).toBe(302)
    const authorization = new URL(start.headers.get('location') ?? '')
    const preLogin = ssoCookieOf(start)?.pair ?? ''
    if (change) idp.tamperNextIdToken(change)
    const back = await idp.authorize(authorization.toString())
    const callback = await stack.app.request(`${back.pathname}${back.search}`, {
      headers: { cookie: preLogin, accept: 'application/json' },
    })
    return { authorization, preLogin, callback }
  }

  it('asks the provider to sign the person in again, and the new session is the check', async () => {
    const owner = await configured()
    const { authorization, preLogin, callback } = await reauth(owner.tenantId)
    expect(authorization.searchParams.get('prompt')).toBe('login')
    expect(authorization.searchParams.get('max_age')).toBe('300')
    expect(callback.status).toBe(200)
    const finish = await stack.app.request('/auth/sso/finish', {
      method: 'POST',
      headers: { cookie: preLogin, origin: PUBLIC_URL },
    })
    const session = sessionCookieOf(finish)?.pair ?? ''
    // A sensitive action (revealing a value) needs a check newer than five minutes: this is one.
    await api.post(
      '/v1/keys',
      { name: 'stepped', provider: 'openai', value: 'sk-proj-stepped-up' },
      owner.session,
    )
    const page = await stack.app.request('/keys', { headers: { cookie: session } })
    const html = await page.text()
    // The step-up dialog offers the provider to people who cannot give a password.
    expect(html).toContain(`/sso/start?organization=${owner.tenantId}&amp;reauth=1`)
    const csrf = csrfIn(html) ?? ''
    const reveal = await stack.app.request('/keys/stepped/reveal', {
      method: 'POST',
      headers: {
        cookie: session,
        origin: PUBLIC_URL,
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf }).toString(),
    })
    expect(reveal.status).toBe(200)
    expect(((await reveal.json()) as { value: string }).value).toBe('sk-proj-stepped-up')
  })

  it('refuses a provider sign-in older than the step-up window', async () => {
    const owner = await configured()
    const { callback } = await reauth(owner.tenantId, (claims) => ({
      ...claims,
      auth_time: Math.floor(Date.now() / 1000) - 3600,
    }))
    expect(callback.status).toBe(401)
    expect(JSON.parse(await callback.text()).code).toBe('sso_id_token_invalid')
  })
})
