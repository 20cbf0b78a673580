import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, launchChromium, listen } from '../support/browser.ts'
import { type Stack, startStack } from '../support/stack.ts'

// What the dashboard must never do in a browser: let stored text run as script, leave a
// revealed value anywhere but its reveal response, or lock out keyboard and screen-reader users.

let now = Date.now()
const clock = { now: () => now }
let stack: Stack
let server: Awaited<ReturnType<typeof listen>>
let browser: Browser

beforeAll(async () => {
  stack = await startStack({ clock })
  server = await listen(stack.app)
  browser = await launchChromium()
}, 90_000)
afterAll(async () => {
  await browser?.close()
  await server?.close()
  await stack?.close()
})

const password = 'correct horse battery staple'
let counter = 0

async function freshPage(width = 1280): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: server.url,
    viewport: { width, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
  })
  const page = await context.newPage()
  page.setDefaultTimeout(20_000)
  return { context, page }
}

async function signUp(page: Page, organization = 'Safety Test'): Promise<string> {
  const email = `safety${++counter}-${Date.now()}@example.com`
  await page.goto('/signup')
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByLabel('Organization (optional)').fill(organization)
  await page.getByRole('button', { name: 'Create account' }).click()
  await eventually(() => new URL(page.url()).pathname).toBe('/')
  return email
}

async function createKey(
  page: Page,
  fields: { name: string; value: string; description?: string },
) {
  await page.goto('/keys')
  await page.getByLabel('Name', { exact: true }).fill(fields.name)
  await page.getByLabel('Value').fill(fields.value)
  if (fields.description) await page.getByLabel('Description (optional)').fill(fields.description)
  await page.getByRole('button', { name: 'Add key' }).click()
  await eventually(() => new URL(page.url()).pathname).toMatch(/^\/keys\/key_/)
  return new URL(page.url()).pathname
}

async function mintToken(page: Page, name: string, keys = '') {
  await page.goto('/tokens')
  await page.getByLabel('Name', { exact: true }).fill(name)
  if (keys) {
    await page.getByLabel('Keys (optional: names or ids, a trailing * for a prefix)').fill(keys)
  }
  await page.getByRole('button', { name: 'Mint token' }).click()
  await eventually(() => page.locator('h1').textContent()).toBe('Token created')
}

describe('stored text is inert', { timeout: 180_000 }, () => {
  const script = `<script>window.__xss='script'</script>`
  const img = `"><img src=x onerror="window.__xss='img'">`

  it('renders script and onerror payloads in every user-supplied field as text', async () => {
    const { context, page } = await freshPage()
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    await signUp(page, `${script}${img}`)
    const keyPath = await createKey(page, {
      name: 'xss-key',
      value: 'sk-xss-value-123',
      description: `${script} and ${img}`,
    })
    await mintToken(page, `${script}${img}`.slice(0, 100), `${img.slice(0, 60)}*`)

    // Names and tags with markup are refused by the same rules as the API, and the error page
    // does not echo what was sent.
    await page.goto('/keys')
    await page.getByLabel('Name', { exact: true }).fill(img)
    await page.getByLabel('Value').fill('v')
    await page.getByLabel('Tags (optional, separated by spaces or commas)').fill(script)
    await page.getByRole('button', { name: 'Add key' }).click()
    await eventually(() => page.locator('h1').textContent()).toBe('Validation failed')
    expect(await page.content()).not.toContain('onerror')

    for (const path of ['/', '/keys', keyPath, '/tokens', '/usage', '/environments', '/audit']) {
      const response = await page.goto(path)
      expect(response?.headers()['content-security-policy']).toContain("script-src 'nonce-")
      expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined()
      expect(await page.locator('img').count()).toBe(0)
      // Only the pages' own scripts, all from /assets.
      expect(await page.locator('script:not([src^="/assets/"])').count()).toBe(0)
    }
    // The payloads are there, as text a person can read.
    await page.goto('/keys')
    expect(await page.locator('tbody').textContent()).toContain(`${script} and ${img}`)
    await page.goto('/tokens')
    expect(await page.locator('tbody').textContent()).toContain(script)
    expect(await page.locator('.org').textContent()).toBe(`${script}${img}`.slice(0, 100))
    // The audit trail names the organization (sign-up) and the token as their targets.
    await page.goto('/audit')
    await eventually(async () => {
      await page.reload()
      return page.locator('tbody').textContent()
    }).toContain(`${script}${img}`.slice(0, 100))
    expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined()
    expect(dialogs).toEqual([])
    await context.close()
  })

  it('would block injected inline script anyway (the CSP admits only its nonce)', async () => {
    const { context, page } = await freshPage()
    await page.goto('/login')
    const violations = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const g = globalThis as any
          const seen: string[] = []
          g.document.addEventListener('securitypolicyviolation', (e: any) => {
            seen.push(e.violatedDirective)
            resolve(seen)
          })
          const el = g.document.createElement('script')
          el.textContent = "window.__inline = 'ran'"
          g.document.body.append(el)
        }),
    )
    expect(violations[0]).toMatch(/^script-src/)
    expect(await page.evaluate(() => (globalThis as any).__inline)).toBeUndefined()
    await context.close()
  })
})

describe('a revealed value stays in its reveal response', { timeout: 180_000 }, () => {
  it('appears in no page, URL, cookie, storage or other response, before or after step-up', async () => {
    const { context, page } = await freshPage()
    const canary = `sk-canary-${Date.now()}-${Math.random().toString(36).slice(2)}`
    const seen: { url: string; body: string; cacheControl: string | undefined }[] = []
    const urls: string[] = []
    page.on('framenavigated', (frame) => urls.push(frame.url()))
    page.on('request', (request) => urls.push(request.url()))
    page.on('response', (response: Response) => {
      const pending = response
        .text()
        .catch(() => '')
        .then((body) =>
          seen.push({
            url: response.url(),
            body,
            cacheControl: response.headers()['cache-control'],
          }),
        )
      bodies.push(pending)
    })
    const bodies: Promise<unknown>[] = []

    await signUp(page)
    const keyPath = await createKey(page, { name: 'canary', value: canary })
    await mintToken(page, 'canary-reader', 'canary')

    // Six minutes later the session's password check is stale: reveal asks for it again.
    now += 6 * 60_000
    await page.goto(keyPath)
    await page.getByRole('button', { name: 'Reveal current value' }).click()
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' })
    await eventually(() => dialog.isVisible()).toBe(true)
    await dialog.getByLabel('Password').fill('not my password')
    await dialog.getByRole('button', { name: 'Confirm' }).click()
    await eventually(() => page.locator('#step-up-error').textContent()).toContain(
      'The e-mail address or the password is wrong.',
    )
    await dialog.getByLabel('Password').fill(password)
    await dialog.getByRole('button', { name: 'Confirm' }).click()
    await eventually(() => page.locator('#revealed-value').textContent()).toBe(canary)
    expect(await dialog.isVisible()).toBe(false)

    for (const path of ['/', '/keys', keyPath, '/tokens', '/usage', '/environments']) {
      await page.goto(path)
    }
    for (const path of ['/encryption', '/audit', '/audit/verify']) await page.goto(path)
    const exported = await page.request.get('/audit/export')
    expect(await exported.text()).toContain('key.value.read')
    expect(await exported.text()).not.toContain(canary)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await eventually(() => new URL(page.url()).pathname).toBe('/login')
    await Promise.all(bodies)

    const carrying = seen.filter((r) => r.body.includes(canary))
    expect(carrying.map((r) => new URL(r.url).pathname)).toEqual([`${keyPath}/reveal`])
    expect(carrying[0]?.cacheControl).toBe('no-store')
    for (const r of seen.filter((r) => r.url.startsWith(server.url))) {
      expect(r.cacheControl, r.url).toBe('no-store')
    }
    expect(urls.filter((u) => u.includes(canary))).toEqual([])
    const cookies = await context.cookies()
    expect(JSON.stringify(cookies)).not.toContain(canary)
    const storage = await page.evaluate(async () => {
      const g = globalThis as any
      return {
        local: g.localStorage.length,
        session: g.sessionStorage.length,
        databases: (await g.indexedDB.databases()).length,
        history: g.history.length,
      }
    })
    expect(storage).toMatchObject({ local: 0, session: 0, databases: 0 })
    expect(await page.content()).not.toContain(canary)
    await context.close()
  })
})

describe('accessible and usable', { timeout: 300_000 }, () => {
  it('has no serious or critical axe violation on any page, at 1280 px and at 390 px', async () => {
    const report: string[] = []
    for (const width of [1280, 390]) {
      const { context, page } = await freshPage(width)
      const audit = async (label: string) => {
        const result = await new AxeBuilder({ page }).analyze()
        for (const v of result.violations) {
          if (v.impact === 'serious' || v.impact === 'critical') {
            report.push(`${width}px ${label}: ${v.id} (${v.impact}) ${v.nodes[0]?.target}`)
          }
        }
      }
      await page.goto('/login')
      await audit('sign in')
      await page.goto('/signup')
      await audit('sign up')
      await signUp(page)
      const keyPath = await createKey(page, {
        name: 'axe-key',
        value: 'sk-axe-1234567890',
        description: 'for the accessibility check',
      })
      await page.getByRole('button', { name: 'Reveal current value' }).click()
      await eventually(() => page.locator('#revealed-value').textContent()).toBe(
        'sk-axe-1234567890',
      )
      await audit('key (revealed)')
      await mintToken(page, 'axe-token')
      await audit('token created')
      for (const path of [
        '/',
        '/keys',
        '/tokens',
        keyPath,
        '/usage',
        '/environments',
        '/encryption',
        '/audit',
        '/audit/verify',
      ]) {
        await page.goto(path)
        await audit(path)
      }
      await page.goto('/keys/key_00000000000000000000000000')
      await audit('not found')
      // Nothing wider than the window at 390 px: tables scroll inside their own region.
      const overflow = await page.evaluate(() => {
        const d = (globalThis as any).document.documentElement
        return d.scrollWidth - d.clientWidth
      })
      expect(overflow).toBeLessThanOrEqual(0)
      await context.close()
    }
    expect(report).toEqual([])
  })

  it('works from the keyboard alone: skip link, sign-in, navigation, reveal', async () => {
    const { context, page } = await freshPage(390)
    // Keys go to whatever document is there when they are pressed: the URL changes as soon as
    // a navigation commits, before the new page is parsed, and a Tab pressed then finds nothing
    // to focus. So wait for the page's load event, not just its URL, before the next key.
    const loaded = (path: string) => page.waitForURL((url) => url.pathname === path)
    const email = await signUp(page)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await loaded('/login')

    const focused = () =>
      page.evaluate(() => {
        const el = (globalThis as any).document.activeElement
        return el?.id || el?.textContent?.trim() || el?.tagName
      })
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('Skip to content')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('email')
    await page.keyboard.type(email)
    await page.keyboard.press('Tab')
    await page.keyboard.type(password)
    await page.keyboard.press('Enter')
    await loaded('/')

    // Skip link, brand, then the sections in order.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab')
    expect(await focused()).toBe('Keys')
    await page.keyboard.press('Enter')
    await loaded('/keys')
    await page.locator('#new-name').focus()
    await page.keyboard.type('keyboard-key')
    await page.keyboard.press('Tab')
    await page.keyboard.type('sk-keyboard-123456')
    await page.keyboard.press('Enter')
    await eventually(() => page.locator('h1').textContent()).toBe('keyboard-key')
    await page.getByRole('button', { name: 'Reveal current value' }).focus()
    await page.keyboard.press('Enter')
    await eventually(() => page.locator('#revealed-value').textContent()).toBe('sk-keyboard-123456')
    await context.close()
  })
})
