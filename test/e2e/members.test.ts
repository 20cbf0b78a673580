import { createServer } from 'node:net'
import { serve } from '@hono/node-server'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, launchChromium } from '../support/browser.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// The Members page in a real browser: an owner invites a teammate, the teammate accepts the
// link signed in as the invited address, sees what a viewer may (no controls), and the owner
// changes their role, removes them, and revokes a pending invitation.

let stack: Stack
let server: ReturnType<typeof serve>
let url: string
let browser: Browser
const contexts: BrowserContext[] = []

/** A free port, so the server's public URL (where links point) is known before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

beforeAll(async () => {
  const port = await freePort()
  url = `http://127.0.0.1:${port}`
  stack = await startStack({ env: { KEYSTASH_PUBLIC_URL: url } })
  server = await new Promise((resolve) => {
    const s = serve({ fetch: stack.app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s))
  })
  browser = await launchChromium()
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await stack?.close()
})

async function signedIn(email: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 900 } })
  contexts.push(context)
  const page = await context.newPage()
  page.setDefaultTimeout(20_000)
  await page.goto('/login')
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await eventually(() => new URL(page.url()).pathname).toBe('/')
  return page
}

describe('the Members page', { timeout: 120_000 }, () => {
  it('invites, accepts, shows a viewer no controls, changes a role and removes', async () => {
    const api = client(stack.app)
    const owner = await signup(api)
    const teammate = await signup(api)
    const ownerPage = await signedIn(owner.email, owner.password)

    await ownerPage.getByRole('link', { name: 'Members' }).click()
    await eventually(() => new URL(ownerPage.url()).pathname).toBe('/members')
    expect(await ownerPage.locator(`tr[data-member="${owner.email}"]`).textContent()).toContain(
      'owner',
    )
    await ownerPage.getByLabel('E-mail').fill(teammate.email)
    await ownerPage.getByLabel('Role', { exact: true }).selectOption('viewer')
    await ownerPage.getByRole('button', { name: 'Invite' }).click()
    const link = (await ownerPage.locator('#invitation-link').textContent()) ?? ''
    expect(link.startsWith(`${url}/invitations/accept#`)).toBe(true)
    expect(await ownerPage.locator(`tr[data-invitation="${teammate.email}"]`).count()).toBe(1)

    // The teammate opens the link signed in as the invited address.
    const theirPage = await signedIn(teammate.email, teammate.password)
    const opened = await theirPage.goto(link)
    expect(opened?.headers()['referrer-policy']).toBe('no-referrer')
    // The secret left the address bar as soon as the page read it.
    expect(new URL(theirPage.url()).hash).toBe('')
    await theirPage.getByRole('button', { name: 'Accept invitation' }).click()
    await eventually(() => new URL(theirPage.url()).pathname).toBe('/members')
    expect(await theirPage.locator('tbody tr[data-member]').count()).toBe(2)
    // A viewer sees the list, and none of the controls.
    expect(await theirPage.getByRole('button', { name: 'Invite' }).count()).toBe(0)
    expect(await theirPage.getByRole('button', { name: /^Remove / }).count()).toBe(0)
    expect(await theirPage.getByRole('button', { name: 'Change role' }).count()).toBe(0)
    // Nor may it do by hand what the page hides.
    const forced = await theirPage.request.post('/members/invite', {
      form: {
        email: 'x@example.com',
        role: 'viewer',
        csrf: (await theirPage.locator('meta[name="csrf-token"]').getAttribute('content')) ?? '',
      },
      headers: { origin: url, accept: 'application/json' },
    })
    expect([forced.status(), (await forced.json()).code]).toEqual([403, 'role_forbids'])

    // The owner makes them a developer, then removes them.
    await ownerPage.goto('/members')
    expect(await ownerPage.locator('tr[data-invitation]').count()).toBe(0)
    const row = ownerPage.locator(`tr[data-member="${teammate.email}"]`)
    await row.getByLabel(`Role of ${teammate.email}`).selectOption('developer')
    await row.getByRole('button', { name: 'Change role' }).click()
    await eventually(() => row.locator('.tag').textContent()).toBe('developer')
    await row.getByRole('button', { name: `Remove ${teammate.email}` }).click()
    await eventually(() => ownerPage.locator(`tr[data-member="${teammate.email}"]`).count()).toBe(0)
    // Their session in the organization ended with the membership.
    await theirPage.goto('/members')
    await eventually(() => new URL(theirPage.url()).pathname).toBe('/login')

    // A pending invitation is revoked from the page.
    await ownerPage.getByLabel('E-mail').fill(`later-${Date.now()}@example.com`)
    await ownerPage.getByRole('button', { name: 'Invite' }).click()
    await ownerPage.getByRole('button', { name: /^Revoke the invitation of / }).click()
    await eventually(() => ownerPage.locator('tr[data-invitation]').count()).toBe(0)
  })
})
