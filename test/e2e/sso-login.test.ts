import { once } from 'node:events'
import { createServer } from 'node:net'
import { serve } from '@hono/node-server'
import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, eventually } from '../support/browser.ts'
import { type SsoProvider, startSsoProvider } from '../support/sso-provider.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// "Sign in with SSO" in a real browser: Keystash on http://localhost:<port> and the OpenID
// provider on http://127.0.0.1:<port> are different sites, so the provider's redirect back
// is a cross-site navigation, as in production. Only the Lax pre-login cookie may come with
// it; the Strict session cookie is set by the page's own same-site post.

let stack: Stack
let idp: SsoProvider
let browser: Browser
let page: Page
let closeServer: () => void
let base = ''

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  return port
}

beforeAll(async () => {
  const port = await freePort()
  base = `http://localhost:${port}`
  idp = await startSsoProvider({ redirectUri: `${base}/auth/sso/callback` })
  stack = await startStack({
    env: { KEYSTASH_PUBLIC_URL: base, KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' },
  })
  const server = serve({ fetch: stack.app.fetch, port, hostname: '127.0.0.1' })
  closeServer = () => {
    if ('closeAllConnections' in server) server.closeAllConnections()
    server.close()
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP localhost 127.0.0.1'],
  })
  page = await (await browser.newContext({ baseURL: base })).newPage()
  page.setDefaultTimeout(20_000)
}, 90_000)
afterAll(async () => {
  await browser?.close()
  closeServer?.()
  await stack?.close()
  await idp?.close()
})

describe('Sign in with SSO in a browser', { timeout: 90_000 }, () => {
  it('goes to the provider and back, and lands signed in', async () => {
    const api = client(stack.app)
    const owner = await signup(api, `e2e-sso-${Date.now()}@corp.example`)
    const provider = idp.clients[0]
    const configured = await api.put(
      '/v1/org/sso',
      {
        issuer: idp.issuer,
        clientId: provider?.clientId,
        clientSecret: provider?.clientSecret,
        defaultRole: 'viewer',
      },
      owner.session,
    )
    expect(configured.status).toBe(200)
    idp.setAccount('e2e-person', { email: owner.email, email_verified: true })
    idp.loginAs('e2e-person')

    await page.goto('/login')
    await page.getByRole('link', { name: 'Sign in with SSO' }).click()
    await page.getByLabel('Organization ID').fill(owner.tenantId)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByRole('link', { name: 'Continue to your identity provider' }).click()
    // The provider signs the person in and sends the browser back; the page posts itself.
    await eventually(() => new URL(page.url()).pathname).toBe('/')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Review access')

    const cookies = await page.context().cookies(base)
    const session = cookies.find((c) => c.name === 'keystash_session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    // The pre-login cookie is gone once used.
    expect(cookies.find((c) => c.name === 'keystash_sso')).toBeUndefined()
    const me = await api.get('/v1/me', session?.value)
    expect(me.body).toMatchObject({ userId: owner.userId, tenantId: owner.tenantId })
  })
})
