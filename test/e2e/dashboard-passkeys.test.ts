import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, launchChromium } from '../support/browser.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

// Passkeys through Chromium's virtual authenticator (CDP WebAuthn domain) against the real
// server: added on the security page, then used for the sign-in's second step. WebAuthn refuses
// IP addresses as relying-party ids, so the page is opened at http://localhost:<port> and the
// server's public URL says the same.

// Moved past the step-up window instead of waiting five minutes.
const clock = { offset: 0, now: () => Date.now() + clock.offset }
let stack: Stack
let app: Stack['app']
let server: ReturnType<typeof serve>
let origin: string
let browser: Browser
let context: BrowserContext
let page: Page
let cdp: CDPSession
let authenticatorId: string

beforeAll(async () => {
  stack = await startStack({ clock })
  // The port is known only once listening; the app that serves it is built with it.
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve(
      { fetch: (request) => app.fetch(request), port: 0, hostname: '127.0.0.1' },
      () => resolve(s),
    )
  })
  origin = `http://localhost:${(server.address() as AddressInfo).port}`
  app = stack.another({ KEYSTASH_PUBLIC_URL: origin })
  browser = await launchChromium()
  context = await browser.newContext({ baseURL: origin })
  page = await context.newPage()
  page.setDefaultTimeout(20_000)
  cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  ;({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }))
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()))
  await stack?.close()
})

const password = 'correct horse battery staple'
const email = `passkey-${Date.now()}@example.com`
let recoveryCodes: string[] = []

describe('passkeys in the dashboard', { timeout: 120_000 }, () => {
  it('adds a passkey on the security page and shows the recovery codes once', async () => {
    await page.goto('/signup')
    await page.getByLabel('E-mail').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Create account' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/')

    await page.getByRole('link', { name: 'Security' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/security')
    expect(await page.locator('#passkeys-none').textContent()).toBe('No passkey yet.')
    await page.getByLabel('Name').fill('Test laptop')
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await eventually(() => page.locator('#new-recovery-codes li').count()).toBe(10)
    recoveryCodes = await page.locator('#new-recovery-codes li').allTextContents()
    expect(await page.locator('#passkey-error').textContent()).toBe('')

    // The authenticator holds one credential for this relying party.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    expect(credentials[0]?.rpId).toBe('localhost')

    await page.goto('/security')
    expect(await page.locator('#passkeys li').allTextContents()).toEqual([
      expect.stringContaining('Test laptop'),
    ])
  })

  it('signs in with the password and then the passkey', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/login')
    await page.getByLabel('E-mail').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    // The password alone gives no session: the second step asks for the factor.
    await eventually(() => page.getByRole('button', { name: 'Use a passkey' }).count()).toBe(1)
    expect(await context.cookies()).toEqual([])

    await page.getByRole('button', { name: 'Use a passkey' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Review access')
    const [cookie] = await context.cookies()
    expect(cookie).toMatchObject({ name: 'keystash_session', httpOnly: true })

    // The server recorded the use (signature counter and time) and offers passkeys at login.
    const api = client(app)
    const login = await api.post('/v1/auth/login', { email, password })
    expect(login.body.mfa.methods).toEqual(['passkey', 'recovery_code'])
    const done = await api.post('/v1/auth/mfa', {
      challenge: login.body.mfa.challenge,
      recoveryCode: recoveryCodes[0],
    })
    expect(done.status).toBe(200)
    const state = await api.get('/v1/me/mfa', done.body.session.token)
    expect(state.body.passkeys).toHaveLength(1)
    expect(state.body.passkeys[0].lastUsedAt).not.toBeNull()
    expect(state.body.recoveryCodesRemaining).toBe(9)
  })

  it('confirms a step-up with the password and the passkey before a reveal', async () => {
    const value = `sk-proj-passkey${Date.now()}abcdefghijklmnop`
    await page.getByRole('link', { name: 'Keys', exact: true }).click()
    await page.getByLabel('Name', { exact: true }).fill('stepped-up')
    await page.getByLabel('Value').fill(value)
    await page.getByRole('button', { name: 'Add key' }).click()
    await eventually(() => new URL(page.url()).pathname).toMatch(/^\/keys\/key_/)
    clock.offset += 6 * 60_000
    await page.getByRole('button', { name: 'Reveal current value' }).click()
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' })
    await eventually(() => dialog.isVisible()).toBe(true)
    await dialog.getByLabel('Password').fill(password)
    await dialog.getByRole('button', { name: 'Use a passkey instead' }).click()
    await eventually(() => page.locator('#revealed-value').textContent()).toBe(value)
    expect(await page.locator('#step-up-error').textContent()).toBe('')
  })

  it('refuses an assertion from an authenticator without the passkey', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId })
    await page.getByLabel('E-mail').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('button', { name: 'Use a passkey' }).click()
    // The browser finds no credential for the allowed ids: the page says so and stays.
    await eventually(
      async () => (await page.locator('#passkey-error').textContent())?.length,
    ).toBeGreaterThan(0)
    expect(new URL(page.url()).pathname).toBe('/login')
    expect(await context.cookies()).toEqual([])
  })
})
