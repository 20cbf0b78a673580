import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PUBLIC_URL, signInWithSso, startAndAuthorize } from '../support/sso-flow.ts'
import { type SsoProvider, startSsoProvider } from '../support/sso-provider.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { tableText } from '../support/table-text.ts'

/**
 * The secrets of single sign-on and device logins never leave where they belong: the OIDC
 * client secret, the pre-login cookie, a device code and the sessions these flows issue are
 * absent from every log line (trace level), error body, audit event and stored item. The
 * client secret is sealed, so not even its bytes are stored.
 */

let now = Date.now()
const clock = { now: () => now }
let stack: Stack
let idp: SsoProvider
beforeAll(async () => {
  idp = await startSsoProvider({ redirectUri: `${PUBLIC_URL}/auth/sso/callback` })
  stack = await startStack({
    clock,
    env: {
      LOG_LEVEL: 'trace',
      KEYSTASH_PUBLIC_URL: PUBLIC_URL,
      KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true',
      KEYSTASH_DEVICE_POLL_SECONDS: '1',
    },
  })
})
afterAll(async () => {
  await stack?.close()
  await idp?.close()
})

describe('single sign-on and device secrets', () => {
  it('are absent from logs, errors, audit events and storage', { timeout: 60_000 }, async () => {
    const api = client(stack.app)
    const owner = await signup(api, `canary-owner-${Date.now()}@corp.example`)
    const provider = idp.clients[0]
    if (!provider) throw new Error('no client')
    const secret = provider.clientSecret
    const errors: string[] = []
    const note = <T extends { status: number; body: unknown }>(res: T): T => {
      if (res.status >= 400) errors.push(JSON.stringify(res.body))
      return res
    }
    const settings = { issuer: idp.issuer, clientId: provider.clientId, clientSecret: secret }
    // Refusals that carry the secret: bad role, unreachable issuer, extra field.
    note(await api.put('/v1/org/sso', { ...settings, defaultRole: 'emperor' }, owner.session))
    note(await api.put('/v1/org/sso', { ...settings, issuer: 'http://127.0.0.1:9' }, owner.session))
    note(await api.put('/v1/org/sso', { ...settings, extra: secret }, owner.session))
    expect(
      note(await api.put('/v1/org/sso', { ...settings, defaultRole: 'viewer' }, owner.session))
        .status,
    ).toBe(200)
    // Changing another setting keeps the sealed secret without sending it again.
    expect(
      note(
        await api.put(
          '/v1/org/sso',
          { ...settings, clientSecret: undefined, defaultRole: 'viewer', required: true },
          owner.session,
        ),
      ).status,
    ).toBe(200)

    const sub = `canary-${Date.now()}`
    idp.setAccount(sub, { email: owner.email, email_verified: true })
    const flow = await startAndAuthorize(stack.app, idp, owner.tenantId, sub)
    const preLogin = flow.cookie.split('=')[1] ?? ''
    await stack.app.request(`${flow.callback.pathname}${flow.callback.search}`, {
      headers: { cookie: flow.cookie },
    })
    const finished = await api.post('/v1/auth/sso/finish', {}, undefined)
    note(finished) // no cookie: refused
    const signedIn = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(signedIn.session).toBeTruthy()
    const ssoSession = signedIn.session as string

    const device = (await api.post('/v1/auth/device/code', {})).body
    note(await api.post('/v1/auth/device/token', { device_code: device.device_code }))
    await api.post('/v1/auth/device/approve', { userCode: device.user_code }, ssoSession)
    now += 1_100 // past the poll interval
    const deviceSession = (
      await api.post('/v1/auth/device/token', { device_code: device.device_code })
    ).body.session.token as string
    note(await api.post('/v1/auth/device/token', { device_code: device.device_code }))

    await stack.deps.lastUsed.settled()
    // Buffered audit: the events of the last requests are written by the next flush.
    await stack.deps.audit.flush()
    const leaks = [
      secret,
      preLogin,
      device.device_code,
      ssoSession,
      deviceSession,
      deviceSession.split('.')[2] ?? '',
    ]
    const logs = stack.logs.text()
    const stored = await tableText(stack.table)
    const audit = JSON.stringify((await api.get('/v1/audit', ssoSession)).body)
    expect(logs.length).toBeGreaterThan(1000)
    expect(audit).toContain('auth.sso.login')
    expect(audit).toContain('auth.device.approve')
    for (const leak of leaks) {
      expect(leak.length).toBeGreaterThan(20)
      expect(logs).not.toContain(leak)
      expect(stored).not.toContain(leak)
      expect(audit).not.toContain(leak)
      for (const body of errors) expect(body).not.toContain(leak)
    }
    expect(errors.length).toBeGreaterThanOrEqual(5)
  })
})
