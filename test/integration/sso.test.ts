import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccountRepository } from '../../src/storage/accounts.ts'
import {
  arrive,
  finish,
  PUBLIC_URL,
  signInWithSso,
  startAndAuthorize,
} from '../support/sso-flow.ts'
import { type SsoProvider, startSsoProvider } from '../support/sso-provider.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// Single sign-on against a real OpenID provider (oidc-provider) on a loopback port, reached
// through the outbound-request module (local addresses allowed by configuration).

let stack: Stack
let idp: SsoProvider
let api: ReturnType<typeof client>
/** The TXT records "published" for domain verification, by name. */
const zone = new Map<string, string[][]>()

beforeAll(async () => {
  idp = await startSsoProvider({ redirectUri: `${PUBLIC_URL}/auth/sso/callback` })
  stack = await startStack({
    env: { KEYSTASH_PUBLIC_URL: PUBLIC_URL, KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' },
    resolveTxt: async (name) => {
      const records = zone.get(name)
      if (!records)
        throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
      return records
    },
  })
  api = client(stack.app)
})
afterAll(async () => {
  await stack?.close()
  await idp?.close()
})

let counter = 0
/** An organization whose owner configured `client` of the provider. */
async function ssoOrganization(clientIndex = 0, extra: Record<string, unknown> = {}) {
  const owner = await signup(api, `owner${++counter}-${Date.now()}@corp.example`)
  const idpClient = idp.clients[clientIndex]
  if (!idpClient) throw new Error('no such client')
  const res = await api.put(
    '/v1/org/sso',
    {
      issuer: idp.issuer,
      clientId: idpClient.clientId,
      clientSecret: idpClient.clientSecret,
      defaultRole: 'viewer',
      ...extra,
    },
    owner.session,
  )
  expect(res.status).toBe(200)
  return owner
}

const subject = () => `sub-${++counter}-${Math.random().toString(36).slice(2)}`

describe('configuring single sign-on', () => {
  it('keeps the client secret to itself', async () => {
    const owner = await ssoOrganization()
    const described = await api.get('/v1/org/sso', owner.session)
    expect(described.status).toBe(200)
    expect(described.body).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clients[0]?.clientId,
      clientSecretSet: true,
      required: false,
    })
    expect(JSON.stringify(described.body)).not.toContain(idp.clients[0]?.clientSecret)
  })

  it('refuses access tokens, and an issuer it cannot discover', async () => {
    const owner = await signup(api)
    const token = (
      await api.post(
        '/v1/tokens',
        { name: 't', scopes: ['org:write', 'org:read'], expiresIn: 600 },
        owner.session,
      )
    ).body.token
    const body = { issuer: idp.issuer, clientId: 'x', clientSecret: 'y', defaultRole: 'viewer' }
    expect((await api.put('/v1/org/sso', body, token)).body.code).toBe('session_required')
    const nowhere = await api.put(
      '/v1/org/sso',
      { ...body, issuer: 'http://127.0.0.1:9/none' },
      owner.session,
    )
    expect(nowhere.status).toBe(502)
    expect(nowhere.body.code).toBe('sso_provider_unavailable')
    expect((await api.get('/v1/org/sso', owner.session)).body.code).toBe('sso_not_configured')
  })
})

describe('domains', () => {
  it('counts a domain as verified only once its TXT record holds the challenge', async () => {
    const owner = await ssoOrganization()
    const domain = `d${++counter}.corp.example`
    const added = await api.post(
      '/v1/org/sso/domains',
      { domain: domain.toUpperCase() },
      owner.session,
    )
    expect(added.status).toBe(201)
    expect(added.body).toMatchObject({
      domain,
      verified: false,
      txtName: `_keystash-challenge.${domain}`,
    })
    const verify = () => api.post(`/v1/org/sso/domains/${domain}/verify`, {}, owner.session)
    const missing = await verify()
    expect([missing.status, missing.body.code]).toEqual([422, 'sso_domain_unverified'])
    zone.set(added.body.txtName, [['v=spf1 -all'], ['keystash-verification=not-the-challenge']])
    expect((await verify()).body.code).toBe('sso_domain_unverified')
    // Long TXT values arrive in chunks; they are joined before comparing.
    const value = added.body.txtValue as string
    zone.set(added.body.txtName, [['v=spf1 -all'], [value.slice(0, 10), value.slice(10)]])
    const ok = await verify()
    expect(ok.status).toBe(200)
    expect(ok.body.verified).toBe(true)
    expect((await api.get('/v1/org/sso', owner.session)).body.domains).toEqual([ok.body])

    const other = await signup(api)
    expect((await api.post(`/v1/org/sso/domains/${domain}/verify`, {}, other.session)).status).toBe(
      404,
    )
    expect(
      (await api.post('/v1/org/sso/domains', { domain: 'not a domain' }, owner.session)).status,
    ).toBe(422)
  })
})

describe('first-time provisioning', () => {
  async function verifiedDomain(owner: { session: string }) {
    const domain = `jit${++counter}.corp.example`
    const added = await api.post('/v1/org/sso/domains', { domain }, owner.session)
    zone.set(added.body.txtName, [[added.body.txtValue]])
    expect((await api.post(`/v1/org/sso/domains/${domain}/verify`, {}, owner.session)).status).toBe(
      200,
    )
    return domain
  }

  it('makes a person on a verified domain a member with the default role, and audits it', async () => {
    const owner = await ssoOrganization(0, { defaultRole: 'developer' })
    const domain = await verifiedDomain(owner)
    const sub = subject()
    const email = `new.person@${domain}`
    idp.setAccount(sub, { email: email.toUpperCase(), email_verified: true })
    const result = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(result.status).toBe(200)
    const me = (await api.get('/v1/me', result.session)).body
    expect(me.tenantId).toBe(owner.tenantId)
    expect(me.userId).not.toBe(owner.userId)

    const members = (await api.get('/v1/org/members', owner.session)).body.items
    expect(members.find((m: { userId: string }) => m.userId === me.userId)).toMatchObject({
      email,
      role: 'developer',
      signInMethod: 'sso',
      lastSignInAt: expect.any(String),
    })
    // A developer's powers, not an owner's.
    expect((await api.get('/v1/org/sso', result.session)).status).toBe(403)
    // The new person has no password to log in with.
    const password = await api.post('/v1/auth/login', {
      email,
      password: 'correct horse battery staple',
    })
    expect(password.body.code).toBe('invalid_credentials')

    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=auth.sso.provision', owner.session)).body.items
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ actor: { id: me.userId }, details: { issuer: idp.issuer } })
    // Signing in again finds the same person.
    const again = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect((await api.get('/v1/me', again.session)).body.userId).toBe(me.userId)
  })

  it('adds nobody from a domain the organization has not verified', async () => {
    const owner = await ssoOrganization()
    await api.post(
      '/v1/org/sso/domains',
      { domain: `unproven${++counter}.corp.example` },
      owner.session,
    )
    const sub = subject()
    idp.setAccount(sub, { email: `someone@unproven${counter}.corp.example`, email_verified: true })
    const result = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(result).toMatchObject({ status: 403, code: 'sso_not_member' })
    expect((await api.get('/v1/org/members', owner.session)).body.items).toHaveLength(1)
  })

  it('never gives the owner role to people it adds', async () => {
    const owner = await signup(api)
    const res = await api.put(
      '/v1/org/sso',
      {
        issuer: idp.issuer,
        clientId: idp.clients[0]?.clientId,
        clientSecret: idp.clients[0]?.clientSecret,
        defaultRole: 'owner',
      },
      owner.session,
    )
    expect([res.status, res.body.code]).toEqual([422, 'validation_failed'])
  })

  it('is configured by owners only', async () => {
    const owner = await ssoOrganization()
    const domain = await verifiedDomain(owner)
    const sub = subject()
    idp.setAccount(sub, { email: `dev@${domain}`, email_verified: true })
    const developer = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    const settings = await api.put(
      '/v1/org/sso',
      { issuer: idp.issuer, clientId: 'mine', clientSecret: 'x', defaultRole: 'admin' },
      developer.session,
    )
    expect([settings.status, settings.body.code]).toEqual([403, 'role_forbids'])
    expect((await api.delete('/v1/org/sso', developer.session)).status).toBe(403)
  })
})

describe('signing in', () => {
  it('signs a member in by a verified e-mail the first time, then by (iss, sub) alone', async () => {
    const owner = await ssoOrganization()
    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: true })
    const first = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(first.status).toBe(200)
    const me = await api.get('/v1/me', first.session)
    expect(me.body).toMatchObject({
      kind: 'session',
      tenantId: owner.tenantId,
      userId: owner.userId,
    })

    // The provider now reports another, unverified address: the identity still names the person.
    idp.setAccount(sub, { email: 'someone-else@corp.example', email_verified: false })
    const again = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(again.status).toBe(200)
    expect((await api.get('/v1/me', again.session)).body.userId).toBe(owner.userId)
  })

  it('needs email_verified to use the e-mail of an identity it does not know', async () => {
    const owner = await ssoOrganization()
    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: false })
    const result = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(result).toMatchObject({ status: 403, code: 'sso_email_unverified' })
  })

  it('never takes over an account of another organization with the same e-mail', async () => {
    const victim = await ssoOrganization(0)
    const other = await ssoOrganization(1)
    const sub = subject()
    // Organization B's provider vouches for the victim's address.
    idp.setAccount(sub, { email: victim.email, email_verified: true })
    const result = await signInWithSso(stack.app, idp, other.tenantId, sub)
    expect(result).toMatchObject({ status: 409, code: 'sso_account_conflict' })
    // Nor does B's identity sign in to A.
    const intoA = await signInWithSso(stack.app, idp, victim.tenantId, sub)
    expect(intoA.status).toBe(200)
    expect((await api.get('/v1/me', intoA.session)).body.tenantId).toBe(victim.tenantId)
  })

  it('refuses a callback whose state was altered, or that arrives without its cookie', async () => {
    const owner = await ssoOrganization()
    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: true })
    const flow = await startAndAuthorize(stack.app, idp, owner.tenantId, sub)
    const altered = new URL(flow.callback)
    altered.searchParams.set('state', `${altered.searchParams.get('state')?.slice(0, -2)}xx`)
    const tampered = await arrive(stack.app, altered, flow.cookie)
    expect(tampered.status).toBe(400)
    expect(JSON.parse(tampered.body).code).toBe('sso_state_invalid')

    const flow2 = await startAndAuthorize(stack.app, idp, owner.tenantId, sub)
    const forwarded = await arrive(stack.app, flow2.callback, undefined)
    expect(JSON.parse(forwarded.body).code).toBe('sso_state_invalid')
    // A finish without a verified sign-in issues nothing.
    expect((await finish(stack.app, flow2.cookie)).body.code).toBe('sso_state_invalid')
  })

  it.each([
    ['a wrong nonce', (c: Record<string, unknown>) => ({ ...c, nonce: 'not-the-nonce' })],
    ['a foreign audience', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else' })],
    [
      'an expired ID token',
      (c: Record<string, unknown>) => {
        const now = Math.floor(Date.now() / 1000)
        return { ...c, iat: now - 7200, exp: now - 3600 }
      },
    ],
    ['another issuer', (c: Record<string, unknown>) => ({ ...c, iss: 'http://127.0.0.1:1' })],
  ])('refuses %s', async (_name, change) => {
    const owner = await ssoOrganization()
    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: true })
    const flow = await startAndAuthorize(stack.app, idp, owner.tenantId, sub)
    idp.tamperNextIdToken(change)
    const back = await arrive(stack.app, flow.callback, flow.cookie)
    expect(back.status).toBe(401)
    expect(JSON.parse(back.body).code).toBe('sso_id_token_invalid')
    expect((await finish(stack.app, flow.cookie)).status).toBe(400)
  })

  it('finishes a sign-in once only', async () => {
    const owner = await ssoOrganization()
    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: true })
    const flow = await startAndAuthorize(stack.app, idp, owner.tenantId, sub)
    expect((await arrive(stack.app, flow.callback, flow.cookie)).status).toBe(200)
    expect((await finish(stack.app, flow.cookie)).status).toBe(200)
    expect((await finish(stack.app, flow.cookie)).body.code).toBe('sso_state_invalid')
  })

  it('answers an organization without single sign-on like an unknown one', async () => {
    const plain = await signup(api)
    const start = (organization: string) => api.post('/v1/auth/sso/start', { organization })
    const a = await start(plain.tenantId)
    const b = await start('org_00000000000000000000000000')
    expect(a.status).toBe(404)
    expect(a.body.code).toBe('sso_not_configured')
    expect({ ...b.body, requestId: null, traceId: null }).toEqual({
      ...a.body,
      requestId: null,
      traceId: null,
    })
  })
})

describe('SSO required', () => {
  it('refuses password logins with a clear error once required, and allows SSO', async () => {
    const owner = await ssoOrganization(0, { required: true })
    const login = await api.post('/v1/auth/login', { email: owner.email, password: owner.password })
    expect(login.status).toBe(403)
    expect(login.body.code).toBe('sso_required')
    // A wrong password still gets the same answer as ever: nothing is told to a guesser.
    const wrong = await api.post('/v1/auth/login', {
      email: owner.email,
      password: 'not it at all',
    })
    expect(wrong.body.code).toBe('invalid_credentials')

    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: true })
    expect((await signInWithSso(stack.app, idp, owner.tenantId, sub)).status).toBe(200)
  })
})

describe('MFA required, through single sign-on', () => {
  it('takes the provider’s word for a second factor (amr), and refuses a sign-in without one', async () => {
    const owner = await ssoOrganization()
    await createAccountRepository({
      doc: stack.table.doc,
      table: stack.table.tableName,
    }).setMfaRequired(owner.tenantId, true, new Date())
    const sub = subject()
    idp.setAccount(sub, { email: owner.email, email_verified: true })

    // A password alone at the provider: no session that would be refused at its first request.
    idp.tamperNextIdToken((claims) => ({ ...claims, amr: ['pwd'] }))
    expect(await signInWithSso(stack.app, idp, owner.tenantId, sub)).toMatchObject({
      status: 401,
      code: 'mfa_required',
    })

    // A one-time code at the provider (RFC 8176 `otp`): the session counts as a second factor's.
    idp.tamperNextIdToken((claims) => ({ ...claims, amr: ['pwd', 'otp'] }))
    const signedIn = await signInWithSso(stack.app, idp, owner.tenantId, sub)
    expect(signedIn.status).toBe(200)
    expect((await api.get('/v1/keys', signedIn.session)).status).toBe(200)
  })
})
