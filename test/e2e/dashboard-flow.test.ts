import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, launchChromium, listen } from '../support/browser.ts'
import { type Stack, startStack } from '../support/stack.ts'

// A person's whole session in a real browser against the real server (DynamoDB Local and the
// local KMS): sign up, keys, reveal and copy, versions, tokens, last used, revoke, sign out.

let stack: Stack
let server: Awaited<ReturnType<typeof listen>>
let browser: Browser
let context: BrowserContext
let page: Page

beforeAll(async () => {
  stack = await startStack()
  server = await listen(stack.app)
  browser = await launchChromium()
  context = await browser.newContext({
    baseURL: server.url,
    viewport: { width: 1280, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
  })
  page = await context.newPage()
  page.setDefaultTimeout(20_000)
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await server?.close()
  await stack?.close()
})

const password = 'correct horse battery staple'
const email = `flow-${Date.now()}@example.com`
const value = `sk-proj-flow${Date.now()}abcdefghijklmnop`
let keyPath = ''

describe('the dashboard in a browser', { timeout: 120_000 }, () => {
  it('signs up and lands on the review page', async () => {
    await page.goto('/')
    expect(new URL(page.url()).pathname).toBe('/login')
    await page.getByRole('link', { name: 'Create an account' }).click()
    await page.getByLabel('E-mail').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByLabel('Organization (optional)').fill('Flow Test Inc')
    await page.getByRole('button', { name: 'Create account' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Review access')
    expect(await page.locator('.org').textContent()).toBe('Flow Test Inc')
    // The session cookie is there, and scripts cannot see it.
    const [cookie] = await context.cookies()
    expect(cookie).toMatchObject({ name: 'keystash_session', httpOnly: true, sameSite: 'Strict' })
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe('')
  })

  it('creates a key and finds it by search', async () => {
    await page.getByRole('link', { name: 'Keys', exact: true }).click()
    await page.getByLabel('Name', { exact: true }).fill('openai-prod')
    await page.getByLabel('Value').fill(value)
    await page.getByLabel('Description (optional)').fill('Billing service key')
    await page.getByLabel('Tags (optional, separated by spaces or commas)').fill('billing, prod')
    await page.getByRole('button', { name: 'Add key' }).click()
    await eventually(() => new URL(page.url()).pathname).toMatch(/^\/keys\/key_/)
    keyPath = new URL(page.url()).pathname
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('openai-prod')
    expect(await page.content()).not.toContain(value)

    await page.goto('/keys')
    await page.getByLabel('Search').fill('billing')
    await page.getByRole('button', { name: 'Filter' }).click()
    const rows = page.locator('tbody tr')
    expect(await rows.count()).toBe(1)
    expect(await rows.first().textContent()).toContain('openai-prod')
    expect(await rows.first().textContent()).toContain('openai')
    await page.getByLabel('Search').fill('nothing-like-this')
    await page.getByRole('button', { name: 'Filter' }).click()
    expect(await page.locator('tbody').textContent()).toContain('No keys match.')
  })

  it('reveals the value only after a click, copies it, and hides it again after 30 s', async () => {
    await page.clock.install()
    await page.goto(keyPath)
    const output = page.locator('#revealed-value')
    expect(await output.textContent()).toBe('')
    expect(await output.isVisible()).toBe(false)
    await page.getByRole('button', { name: 'Reveal current value' }).click()
    await eventually(() => output.textContent()).toBe(value)
    expect(await output.isVisible()).toBe(true)
    expect(await page.locator('#revealed-timer').textContent()).toContain('Hidden again in 30 s')

    await page.getByRole('button', { name: 'Copy' }).click()
    await eventually(() => page.getByRole('button', { name: 'Copied' }).count()).toBe(1)
    const copied = await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())
    expect(copied).toBe(value)

    await page.clock.runFor(29_000)
    expect(await output.textContent()).toBe(value)
    await page.clock.runFor(2_000)
    expect(await output.textContent()).toBe('')
    expect(await output.isVisible()).toBe(false)
  })

  it('adds a version and shows it in the history', async () => {
    await page.getByLabel('New value').fill(`${value}-v2`)
    await page.getByRole('button', { name: 'Add version' }).click()
    await eventually(() => page.locator('.facts').textContent()).toContain('v2')
    const history = page.getByRole('region', { name: 'Versions' })
    expect(await history.locator('tbody tr').count()).toBe(2)
    expect(await history.textContent()).toContain('platform key, version 1')
    await page.getByRole('button', { name: 'Reveal current value' }).click()
    await eventually(() => page.locator('#revealed-value').textContent()).toBe(`${value}-v2`)
  })

  let minted = ''
  it('mints a token and shows its string once', async () => {
    await page.goto('/tokens')
    await page.getByLabel('Name', { exact: true }).fill('billing-ci')
    await page
      .getByLabel('Keys (optional: names or ids, a trailing * for a prefix)')
      .fill('openai-*')
    await page.getByLabel('Expires in').selectOption({ label: '1 day' })
    await page.getByRole('button', { name: 'Mint token' }).click()
    await eventually(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Token created',
    )
    minted = (await page.locator('#minted-token').textContent()) ?? ''
    expect(minted).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
    await page.getByRole('button', { name: 'Copy' }).click()
    await eventually(() =>
      page.evaluate(() => (globalThis as any).navigator.clipboard.readText()),
    ).toBe(minted)

    await page.goto('/tokens')
    expect(await page.content()).not.toContain(minted)
    const row = page.locator('tbody tr', { hasText: 'billing-ci' })
    expect(await row.textContent()).toContain('keys:read')
    expect(await row.textContent()).toContain('openai-*')
    expect(await row.textContent()).toContain('production')
    expect(await row.locator('td').nth(5).textContent()).toBe('never')
    // A token expiring within a day is on the review page.
    await page.goto('/')
    expect(
      await page.locator('section', { hasText: 'Tokens expiring within 7 days' }).textContent(),
    ).toContain('billing-ci')
  })

  it('shows "last used" once the token has been used over the API', async () => {
    const read = await fetch(`${server.url}/v1/keys/openai-prod/value`, {
      headers: { authorization: `Bearer ${minted}` },
    })
    expect(read.status).toBe(200)
    expect(((await read.json()) as { value: string }).value).toBe(`${value}-v2`)
    await eventually(async () => {
      await page.goto('/tokens')
      return page.locator('tbody tr', { hasText: 'billing-ci' }).locator('td').nth(5).textContent()
    }).toBe('just now')
    await page.goto('/keys')
    expect(
      await page.locator('tbody tr', { hasText: 'openai-prod' }).locator('td').nth(4).textContent(),
    ).toBe('just now')
  })

  it('revokes the token, which then stops working', async () => {
    await page.goto('/tokens')
    await page.getByRole('button', { name: 'Revoke billing-ci' }).click()
    await eventually(() =>
      page.locator('tbody tr', { hasText: 'billing-ci' }).textContent(),
    ).toContain('revoked')
    const read = await fetch(`${server.url}/v1/keys/openai-prod/value`, {
      headers: { authorization: `Bearer ${minted}` },
    })
    expect(read.status).toBe(401)
  })

  it('changes a mock default and a key override, with the guardrails shown read-only', async () => {
    await page.getByRole('link', { name: 'Environments', exact: true }).click()
    const row = (env: string) => page.locator('tbody tr', { hasText: env }).first()
    expect(await row('production').textContent()).toContain('KEYSTASH_MOCK_PRODUCTION')
    expect(await row('production').textContent()).toContain('never mock')
    expect(await row('staging').locator('td').nth(2).textContent()).toContain('mock')
    await page.getByLabel('Default for staging').selectOption('live')
    await page.getByRole('button', { name: 'Save defaults' }).click()
    await eventually(() => row('staging').locator('td').nth(2).textContent()).toContain('live')
    expect(await page.getByLabel('Default for staging').inputValue()).toBe('live')

    const override = page.getByRole('group', { name: 'openai-prod' })
    await override.getByLabel('development').selectOption('live')
    await page.getByRole('button', { name: 'Save overrides of openai-prod' }).click()
    await eventually(() =>
      page.getByRole('group', { name: 'openai-prod' }).getByLabel('development').inputValue(),
    ).toBe('live')
    await page.goto('/keys')
    expect(await page.locator('tbody tr', { hasText: 'openai-prod' }).textContent()).toContain(
      'development: live',
    )
  })

  it('switches to raw key material and shows the re-encryption job reach 100 %', async () => {
    await page.getByRole('link', { name: 'Encryption', exact: true }).click()
    expect(await page.locator('.facts').textContent()).toContain('Platform key, version 1')
    await page.getByLabel('Provider').selectOption('raw')
    await page
      .getByLabel('Key material (raw: 32 random bytes, base64)')
      .fill(randomBytes(32).toString('base64'))
    await page.getByRole('button', { name: 'Change key' }).click()
    await eventually(() => page.locator('.facts').textContent()).toContain(
      'Raw key material, version 2',
    )
    const bar = page.locator('#job-progress')
    await eventually(async () => {
      const [value, max] = await Promise.all([bar.getAttribute('value'), bar.getAttribute('max')])
      return Number(value) === Number(max) && Number(max) > 0
    }).toBe(true)
    await eventually(() => page.locator('#job-facts').textContent()).toMatch(/^finished: 2 of 2/)
    expect(await page.locator('label[for="job-progress"]').textContent()).toBe('Progress: 100 %')
    // The values read as before under the new key.
    await page.goto(keyPath)
    await page.getByRole('button', { name: 'Reveal current value' }).click()
    await eventually(() => page.locator('#revealed-value').textContent()).toBe(`${value}-v2`)
  })

  it('filters, exports and verifies the audit trail', async () => {
    await page.getByRole('link', { name: 'Audit', exact: true }).click()
    await page.getByLabel('Action').fill('key.*')
    await page.getByRole('button', { name: 'Filter' }).click()
    await eventually(async () => {
      await page.reload()
      return page.locator('tbody tr', { hasText: 'key.value.read' }).count()
    }).toBeGreaterThanOrEqual(3)
    const actions = await page.locator('tbody tr td:nth-child(2)').allTextContents()
    expect(actions.every((a) => a.startsWith('key.'))).toBe(true)
    expect(actions).toContain('key.create')
    expect(actions).toContain('key.version.create')

    const exported = await page.request.get('/audit/export?action=key.*')
    expect(exported.headers()['content-type']).toContain('application/x-ndjson')
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.length).toBeGreaterThanOrEqual(3)
    expect(lines.every((e: { action: string }) => e.action.startsWith('key.'))).toBe(true)
    expect(await exported.text()).not.toContain(value)

    await page.getByRole('link', { name: 'Verify the chains for this period' }).click()
    await eventually(() => page.locator('#verify-title').textContent()).toMatch(
      /^Intact: \d+ events in \d+ chains$/,
    )
    expect(
      await page.getByRole('region', { name: 'Chain heads' }).locator('tbody tr').count(),
    ).toBeGreaterThan(0)
  })

  it('deletes a key only when its name is typed', async () => {
    await page.goto(keyPath)
    await page.getByLabel("Type the key's name to confirm").fill('wrong-name')
    await page.getByRole('button', { name: 'Delete key' }).click()
    await eventually(() => page.getByRole('alert').first().textContent()).toContain(
      'Type the key’s exact name to delete it.',
    )
    await page.goto('/keys')
    await page.screenshot({ path: screenshotPath('dashboard.png', true) })
    await page.goto(keyPath)
    await page.getByLabel("Type the key's name to confirm").fill('openai-prod')
    await page.getByRole('button', { name: 'Delete key' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/keys')
    expect(await page.locator('tbody').textContent()).toContain('No keys match.')
  })

  it('signs out: the session ends and pages ask to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/login')
    expect(await context.cookies()).toEqual([])
    await page.goto('/tokens')
    expect(new URL(page.url()).pathname).toBe('/login')
  })
})

/**
 * Where screenshots go: the README's picture (docs/dashboard.png) is refreshed when
 * KEYSTASH_UPDATE_SCREENSHOTS=1; otherwise everything goes to a temporary directory.
 */
function screenshotPath(name: string, forReadme = false): string {
  if (forReadme && process.env.KEYSTASH_UPDATE_SCREENSHOTS === '1') return join('docs', name)
  const dir = join(tmpdir(), 'keystash-screenshots')
  mkdirSync(dir, { recursive: true })
  return join(dir, name)
}
