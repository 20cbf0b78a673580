import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCodeAt } from '../../src/auth/totp.ts'
import { client, type Stack, startStack } from '../support/stack.ts'
import { allAuditItems, parseNdjson } from './audit-helpers.ts'

/**
 * Security invariant 1 for the audit trail: no password, token string or key value ever
 * reaches an audit event. Every scenario below drives real routes with secrets that are
 * unique strings (canaries) and registers them; the last test scans every stored audit item,
 * every export line and every audit log line for any of them.
 *
 * To extend (e.g. once key routes record events): add a scenario that stores a key whose
 * value is `canary('value')`, reads it live and mock, rotates it, and so on.
 */
const canaries: string[] = []
function canary(label: string): string {
  const value = `${label}-canary-${randomBytes(9).toString('base64url')}`
  canaries.push(value)
  return value
}
/** A token string, and its signature alone (a leak of either is a leak). */
function tokenCanary(token: string): string {
  canaries.push(token, token.split('.')[2] ?? token)
  return token
}

let stack: Stack
let api: ReturnType<typeof client>
const sessions: string[] = []

beforeAll(async () => {
  // Links (invitations) are built from the public URL.
  stack = await startStack({ env: { KEYSTASH_PUBLIC_URL: 'https://vault.example.test' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

type Scenario = { name: string; run: () => Promise<void> }
const scenarios: Scenario[] = [
  {
    name: 'sign-up, login, failed login and logout',
    run: async () => {
      const email = `canary-${randomBytes(4).toString('hex')}@example.com`
      const password = canary('password')
      const signed = await api.post('/v1/auth/signup', { email, password })
      expect(signed.status).toBe(201)
      sessions.push(tokenCanary(signed.body.session.token))
      const wrong = await api.post('/v1/auth/login', { email, password: canary('wrong-password') })
      expect(wrong.status).toBe(401)
      const login = await api.post('/v1/auth/login', { email, password })
      expect(login.status).toBe(200)
      const second = tokenCanary(login.body.session.token)
      expect((await api.post('/v1/auth/logout', undefined, second)).status).toBe(204)
      expect((await api.get('/v1/me', second)).status).toBe(401)
    },
  },
  {
    name: 'token create, rejected uses, revoke, forged token',
    run: async () => {
      const session = sessions[0] as string
      const created = await api.post(
        '/v1/tokens',
        { name: 'canary-bearer', scopes: ['keys:list'], expiresIn: 600, environment: 'staging' },
        session,
      )
      expect(created.status).toBe(201)
      const token = tokenCanary(created.body.token)
      expect((await api.get('/v1/audit', token)).status).toBe(403)
      expect((await api.delete(`/v1/tokens/${created.body.id}`, session)).status).toBe(204)
      expect((await api.get('/v1/me', token)).status).toBe(401)
      const [header, payload] = token.split('.')
      const forged = `${header}.${payload}.${canary('forged-signature')}`
      expect((await api.get('/v1/me', forged)).status).toBe(401)
    },
  },
  {
    name: 'key create, live and mock reads, new version, metadata, delete',
    run: async () => {
      const session = sessions[0] as string
      const value = canary('value')
      expect(
        (await api.post('/v1/keys', { name: 'canary-key', value, provider: 'openai' }, session))
          .status,
      ).toBe(201)
      const mint = async (environment: string) =>
        tokenCanary(
          (
            await api.post(
              '/v1/tokens',
              { name: environment, scopes: ['keys:read'], expiresIn: 600, environment },
              session,
            )
          ).body.token,
        )
      const live = await api.get('/v1/keys/canary-key/value', await mint('production'))
      expect(live.body.value).toBe(value)
      const mock = await api.get('/v1/keys/canary-key/value', await mint('development'))
      expect(mock.body.mode.effective).toBe('mock')
      canaries.push(mock.body.value)
      expect(
        (await api.put('/v1/keys/canary-key/value', { value: canary('value-v2') }, session)).status,
      ).toBe(200)
      expect(
        (await api.patch('/v1/keys/canary-key', { description: 'rotated' }, session)).status,
      ).toBe(200)
      expect(
        (await api.post('/v1/keys', { name: 'bad name', value: canary('refused-value') }, session))
          .status,
      ).toBe(422)
      expect((await api.delete('/v1/keys/canary-key', session)).status).toBe(204)
    },
  },
  {
    name: 'second factor: set-up, a wrong code, a recovery code, a challenge replayed',
    run: async () => {
      const email = `mfa-canary-${randomBytes(4).toString('hex')}@example.com`
      const password = canary('mfa-password')
      const signed = await api.post('/v1/auth/signup', { email, password })
      const session = tokenCanary(signed.body.session.token)
      const started = await api.post('/v1/me/mfa/totp', {}, session)
      canaries.push(started.body.secret, started.body.uri)
      const confirmed = await api.post(
        '/v1/me/mfa/totp/confirm',
        { code: totpCodeAt(started.body.secret, Date.now()) },
        session,
      )
      expect(confirmed.status).toBe(200)
      canaries.push(...confirmed.body.recoveryCodes)
      const login = await api.post('/v1/auth/login', { email, password })
      const challenge = login.body.mfa.challenge as string
      canaries.push(challenge)
      const wrong = await api.post('/v1/auth/mfa', {
        challenge,
        recoveryCode: canary('WRONG-RECOVERY-CODE'),
      })
      expect(wrong.status).toBe(401)
      const used = await api.post('/v1/auth/mfa', {
        challenge,
        recoveryCode: confirmed.body.recoveryCodes[0],
      })
      expect(used.status).toBe(200)
      tokenCanary(used.body.session.token)
      expect(
        (
          await api.post('/v1/auth/mfa', {
            challenge,
            recoveryCode: confirmed.body.recoveryCodes[1],
          })
        ).status,
      ).toBe(401)
    },
  },
  {
    name: 'invitation create, refused for another address, accept, replay, revoke',
    run: async () => {
      const session = sessions[0] as string
      const person = async () => {
        const email = `canary-${randomBytes(4).toString('hex')}@example.com`
        const signed = await api.post('/v1/auth/signup', { email, password: canary('password') })
        return { email, session: tokenCanary(signed.body.session.token) }
      }
      const invite = async (email: string) => {
        const res = await api.post('/v1/org/invitations', { email, role: 'viewer' }, session)
        expect(res.status).toBe(201)
        const code = decodeURIComponent(new URL(res.body.link).hash.slice(1))
        canaries.push(code, code.split('.')[2] ?? code)
        return { code, id: res.body.invitation.id as string }
      }
      const invitee = await person()
      const other = await person()
      const invited = await invite(invitee.email)
      const forwarded = await api.post(
        '/v1/invitations/accept',
        { code: invited.code },
        other.session,
      )
      expect(forwarded.status).toBe(403)
      const accepted = await api.post(
        '/v1/invitations/accept',
        { code: invited.code },
        invitee.session,
      )
      expect(accepted.status).toBe(200)
      tokenCanary(accepted.body.session.token)
      const replay = await api.post(
        '/v1/invitations/accept',
        { code: invited.code },
        invitee.session,
      )
      expect(replay.status).toBe(404)
      const revoked = await invite(other.email)
      expect((await api.delete(`/v1/org/invitations/${revoked.id}`, session)).status).toBe(204)
    },
  },
]

describe('audit events never carry secrets', () => {
  for (const scenario of scenarios) it(scenario.name, scenario.run)

  it('none of the canaries is in any audit item, export line or audit log line', async () => {
    await stack.deps.audit.flush()
    const items = await allAuditItems(stack)
    // Not a vacuous pass: the rejected uses above were recorded.
    const rejected = items.filter((item) => item.action === 'token.rejected')
    expect(rejected.length).toBeGreaterThanOrEqual(3)

    const res = await stack.app.request('/v1/audit/export', {
      headers: { authorization: `Bearer ${sessions[0]}` },
    })
    const lines = parseNdjson(await res.text())
    expect(lines.length).toBeGreaterThanOrEqual(3)
    const auditLogs = stack.logs.lines().filter((line) => String(line.msg).startsWith('audit'))

    const haystacks = {
      items: JSON.stringify(items),
      exportLines: JSON.stringify(lines),
      auditLogs: JSON.stringify(auditLogs),
    }
    expect(canaries.length).toBeGreaterThanOrEqual(8)
    for (const [where, text] of Object.entries(haystacks)) {
      const found = canaries.filter((secret) => text.includes(secret))
      expect({ where, found }).toEqual({ where, found: [] })
    }
  })
})
