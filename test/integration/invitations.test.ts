import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { codeOf } from '../support/teams.ts'

const DAY = 86_400_000
const clock = { offset: 0, now: () => Date.now() + clock.offset }

let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack({ clock, env: { KEYSTASH_PUBLIC_URL: 'https://vault.example.test/' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function invite(session: string, email: string, role = 'developer') {
  const res = await api.post('/v1/org/invitations', { email, role }, session)
  expect(res.status).toBe(201)
  return res
}

describe('invitations', () => {
  it('show the link once, built from KEYSTASH_PUBLIC_URL and never from the Host header', async () => {
    const owner = await signup(api)
    const res = await stack.app.request('/v1/org/invitations', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${owner.session}`,
        'content-type': 'application/json',
        host: 'attacker.example',
      },
      body: JSON.stringify({ email: 'Someone@Example.com', role: 'viewer' }),
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as any
    expect(body.mailed).toBe(false)
    expect(body.link).toMatch(
      /^https:\/\/vault\.example\.test\/invitations\/accept#org_[0-9a-z]+\.inv_[0-9a-z]+\.[\w-]{43}$/,
    )
    expect(body.invitation).toMatchObject({ email: 'someone@example.com', role: 'viewer' })
    expect(Date.parse(body.invitation.expiresAt) - Date.parse(body.invitation.createdAt)).toBe(
      7 * DAY,
    )
    // Listed while pending, without any secret.
    const pending = await api.get('/v1/org/invitations', owner.session)
    expect(pending.body.items).toEqual([body.invitation])
    expect(JSON.stringify(pending.body)).not.toContain(codeOf(body.link).split('.')[2])
  })

  it('are accepted once, by the invited address only', async () => {
    const owner = await signup(api)
    const invitee = await signup(api)
    const other = await signup(api)
    const { link } = (await invite(owner.session, invitee.email)).body
    const code = codeOf(link)

    const forwarded = await api.post('/v1/invitations/accept', { code }, other.session)
    expect([forwarded.status, forwarded.body.code]).toEqual([403, 'invitation_wrong_address'])
    const tampered = await api.post(
      '/v1/invitations/accept',
      { code: `${code.slice(0, -2)}AA` },
      invitee.session,
    )
    expect([tampered.status, tampered.body.code]).toEqual([404, 'invitation_invalid'])
    const anonymous = await api.post('/v1/invitations/accept', { code })
    expect(anonymous.status).toBe(401)

    const accepted = await api.post('/v1/invitations/accept', { code }, invitee.session)
    expect(accepted.status).toBe(200)
    expect(accepted.body.organization.id).toBe(owner.tenantId)
    expect(accepted.body.member.role).toBe('developer')
    const me = (await api.get('/v1/me', accepted.body.session.token)).body
    expect([me.tenantId, me.role]).toEqual([owner.tenantId, 'developer'])

    const replay = await api.post('/v1/invitations/accept', { code }, invitee.session)
    expect([replay.status, replay.body.code]).toEqual([404, 'invitation_invalid'])
    expect((await api.get('/v1/org/invitations', owner.session)).body.items).toEqual([])
    // Inviting a member again is a conflict.
    const twice = await api.post(
      '/v1/org/invitations',
      { email: invitee.email, role: 'viewer' },
      owner.session,
    )
    expect([twice.status, twice.body.code]).toEqual([409, 'conflict'])

    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=invitation.*', owner.session)).body.items
    expect(events.map((e: { action: string }) => e.action).sort()).toEqual([
      'invitation.accept',
      'invitation.create',
      'invitation.create',
    ])
    const added = (await api.get('/v1/audit?action=member.add', owner.session)).body.items
    expect(added[0]).toMatchObject({
      actor: { id: invitee.userId },
      target: { type: 'user', id: invitee.userId },
      details: { role: 'developer', via: 'invitation', invitedBy: owner.userId },
    })
  })

  it('expire after 7 days', async () => {
    const owner = await signup(api)
    const invitee = await signup(api)
    const { link } = (await invite(owner.session, invitee.email)).body
    clock.offset = 7 * DAY + 1000
    try {
      // A fresh session: the one from sign-up has expired too by then.
      const login = await api.post('/v1/auth/login', {
        email: invitee.email,
        password: invitee.password,
      })
      const session = login.body.session.token as string
      const late = await api.post('/v1/invitations/accept', { code: codeOf(link) }, session)
      expect([late.status, late.body.code]).toEqual([410, 'invitation_expired'])
      const ownerLogin = await api.post('/v1/auth/login', {
        email: owner.email,
        password: owner.password,
      })
      const listed = await api.get('/v1/org/invitations', ownerLogin.body.session.token)
      expect(listed.body.items).toEqual([])
    } finally {
      clock.offset = 0
    }
  })

  it('can be revoked while pending', async () => {
    const owner = await signup(api)
    const invitee = await signup(api)
    const { invitation, link } = (await invite(owner.session, invitee.email)).body
    expect((await api.delete(`/v1/org/invitations/${invitation.id}`, owner.session)).status).toBe(
      204,
    )
    const again = await api.delete(`/v1/org/invitations/${invitation.id}`, owner.session)
    expect(again.status).toBe(404)
    const used = await api.post('/v1/invitations/accept', { code: codeOf(link) }, invitee.session)
    expect([used.status, used.body.code]).toEqual([404, 'invitation_invalid'])
    // Another organization's invitation answers like a missing one.
    const stranger = await signup(api)
    const foreign = await api.delete(`/v1/org/invitations/${invitation.id}`, stranger.session)
    expect(foreign.status).toBe(404)
  })

  it('never make owners, and admins invite only below owner', async () => {
    const owner = await signup(api)
    const asOwner = await api.post(
      '/v1/org/invitations',
      { email: 'x@example.com', role: 'owner' },
      owner.session,
    )
    expect(asOwner.status).toBe(422)
  })
})
