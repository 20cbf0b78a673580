import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linkIn, type SmtpReceiver, startSmtpReceiver } from '../support/smtp-receiver.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { codeOf } from '../support/teams.ts'
import { allAuditItems } from './audit-helpers.ts'

/**
 * With SMTP configured (a real SMTP receiver here): sign-up confirms the address by mail and
 * answers the same for known and unknown addresses, and invitations are mailed, accepted only
 * by a confirmed address. The secrets those mails carry are kept nowhere in clear.
 */
let smtp: SmtpReceiver
let stack: Stack
let api: ReturnType<typeof client>
const secrets: string[] = []
const PASSWORD = 'correct horse battery staple'
let n = 0
const address = () => `mail${++n}-${Date.now()}@example.com`

beforeAll(async () => {
  smtp = await startSmtpReceiver()
  stack = await startStack({
    env: {
      LOG_LEVEL: 'trace',
      KEYSTASH_PUBLIC_URL: 'https://vault.example.test',
      KEYSTASH_SMTP_URL: smtp.url,
      KEYSTASH_MAIL_FROM: 'Keystash <vault@example.test>',
    },
  })
  api = client(stack.app)
})
afterAll(async () => {
  await stack?.close()
  await smtp?.close()
})

/** Signs up through the mailed confirmation; returns the new session. */
async function confirmedSignup(email: string) {
  const asked = await api.post('/v1/auth/signup', { email, password: PASSWORD })
  expect(asked.status).toBe(202)
  const link = linkIn(await smtp.mailTo(email), '/confirm')
  const secret = decodeURIComponent(new URL(link).hash.slice(1))
  secrets.push(secret)
  const done = await api.post('/v1/auth/confirm', { code: secret })
  expect(done.status).toBe(201)
  return {
    email,
    session: done.body.session.token as string,
    userId: done.body.user.id as string,
    secret,
  }
}

describe('sign-up with SMTP configured', () => {
  it('answers the same for a new address and a registered one', async () => {
    const known = await confirmedSignup(address())
    const fresh = address()
    const forKnown = await api.post('/v1/auth/signup', { email: known.email, password: PASSWORD })
    const forFresh = await api.post('/v1/auth/signup', { email: fresh, password: PASSWORD })
    const shape = (res: { status: number; headers: Headers; body: any }) => ({
      status: res.status,
      contentType: res.headers.get('content-type'),
      cacheControl: res.headers.get('cache-control'),
      keys: Object.keys(res.body).sort(),
      confirmation: res.body.confirmation,
    })
    expect(shape(forKnown)).toEqual(shape(forFresh))
    expect(forKnown.body.email).toBe(known.email)
    expect(forFresh.body.email).toBe(fresh)
    // The registered address is told, with no link; the new one gets its link.
    const toKnown = smtp.received.filter((m) => m.to.includes(known.email)).at(-1)
    expect(toKnown?.text).toContain('already has one')
    expect(toKnown?.text).not.toContain('/confirm#')
    expect(linkIn(await smtp.mailTo(fresh), '/confirm')).toMatch(
      /^https:\/\/vault\.example\.test\/confirm#[\w-]{43}$/,
    )
    // No account exists until the link comes back.
    const early = await api.post('/v1/auth/login', { email: fresh, password: PASSWORD })
    expect(early.status).toBe(401)
  })

  it('creates the account once, from the link', async () => {
    const person = await confirmedSignup(address())
    expect((await api.get('/v1/me', person.session)).body.role).toBe('owner')
    const again = await api.post('/v1/auth/confirm', { code: person.secret })
    expect([again.status, again.body.code]).toEqual([404, 'confirmation_invalid'])
    const login = await api.post('/v1/auth/login', { email: person.email, password: PASSWORD })
    expect(login.status).toBe(200)
  })
})

describe('invitations with SMTP configured', () => {
  it('are mailed, never shown, and accepted by the confirmed invitee', async () => {
    const owner = await confirmedSignup(address())
    const invitee = await confirmedSignup(address())
    const invited = await api.post(
      '/v1/org/invitations',
      { email: invitee.email, role: 'admin' },
      owner.session,
    )
    expect(invited.status).toBe(201)
    expect([invited.body.mailed, invited.body.link]).toEqual([true, null])
    const mail = smtp.received.filter((m) => m.to.includes(invitee.email)).at(-1)
    expect(mail?.raw).toContain('From: Keystash <vault@example.test>')
    const code = codeOf(linkIn(mail ?? (await smtp.mailTo(invitee.email)), '/invitations/accept'))
    secrets.push(code)
    const accepted = await api.post('/v1/invitations/accept', { code }, invitee.session)
    expect([accepted.status, accepted.body.member.role]).toEqual([200, 'admin'])
  })

  it('refuses an address that was never confirmed', async () => {
    // Signed up on an instance without SMTP: the address was never proved.
    const plain = client(stack.another({ KEYSTASH_SMTP_URL: '' }))
    const unconfirmed = await signup(plain)
    const owner = await confirmedSignup(address())
    const invited = await api.post(
      '/v1/org/invitations',
      { email: unconfirmed.email, role: 'viewer' },
      owner.session,
    )
    const code = codeOf(linkIn(await smtp.mailTo(unconfirmed.email), '/invitations/accept'))
    secrets.push(code)
    expect(invited.status).toBe(201)
    const refused = await api.post('/v1/invitations/accept', { code }, unconfirmed.session)
    expect([refused.status, refused.body.code]).toEqual([403, 'email_unconfirmed'])
  })

  it('keeps every mailed secret out of stored items, logs and audit events', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(6)
    await stack.deps.audit.flush()
    const items = JSON.stringify(
      (await stack.table.doc.send(new ScanCommand({ TableName: stack.table.tableName }))).Items,
    )
    const haystacks = {
      items,
      logs: JSON.stringify(stack.logs.lines()),
      audit: JSON.stringify(await allAuditItems(stack)),
    }
    expect(haystacks.items).toContain('SIGNUP#')
    for (const [where, text] of Object.entries(haystacks)) {
      const found = secrets.filter((secret) => text.includes(secret))
      expect({ where, found }).toEqual({ where, found: [] })
    }
  })
})
