import { generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
})
afterAll(() => stack?.close())

const _inAnHour = () => new Date(Date.now() + 3600_000).toISOString()

function expectProblem(
  res: { status: number; headers: Headers; body: any },
  status: number,
  code: string,
) {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code })
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  expect(res.body.requestId).toBe(res.headers.get('x-request-id'))
}

describe('accounts', () => {
  it('signs up a user and an organization and logs in', async () => {
    const res = await api.post('/v1/auth/signup', {
      email: '  Ada@Example.COM ',
      password: 'correct horse battery staple',
      organization: 'Analytical Engines',
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body.user.email).toBe('ada@example.com')
    expect(res.body.organization.name).toBe('Analytical Engines')
    expect(res.body.session.token.split('.')).toHaveLength(3)

    const me = await api.get('/v1/me', res.body.session.token)
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({
      kind: 'session',
      tenantId: res.body.organization.id,
      userId: res.body.user.id,
    })
    expect(me.body.scopes).toEqual(expect.arrayContaining(['org:write', 'encryption:write']))

    const login = await api.post('/v1/auth/login', {
      email: 'ADA@example.com',
      password: 'correct horse battery staple',
    })
    expect(login.status).toBe(200)
    expect((await api.get('/v1/me', login.body.session.token)).status).toBe(200)
  })

  it('refuses a second account for the same normalised e-mail', async () => {
    const { email } = await signup(api)
    const again = await api.post('/v1/auth/signup', {
      email: email.toUpperCase(),
      password: 'another long password',
    })
    expectProblem(again, 409, 'conflict')
  })

  it('refuses weak passwords and unknown fields', async () => {
    expectProblem(
      await api.post('/v1/auth/signup', { email: 'x@example.com', password: 'short' }),
      422,
      'validation_failed',
    )
    expectProblem(
      await api.post('/v1/auth/signup', {
        email: 'y@example.com',
        password: 'correct horse battery staple',
        admin: true,
      }),
      422,
      'validation_failed',
    )
  })

  it('answers a wrong e-mail and a wrong password the same way', async () => {
    const { email } = await signup(api)
    const wrongPassword = await api.post('/v1/auth/login', {
      email,
      password: 'not the password at all',
    })
    const wrongEmail = await api.post('/v1/auth/login', {
      email: `nobody-${email}`,
      password: 'not the password at all',
    })
    expectProblem(wrongPassword, 401, 'invalid_credentials')
    expectProblem(wrongEmail, 401, 'invalid_credentials')
    const { requestId: _a, traceId: _ta, ...a } = wrongPassword.body
    const { requestId: _b, traceId: _tb, ...b } = wrongEmail.body
    expect(a).toEqual(b)
  })

  it('locks an e-mail after repeated failures, whether or not it exists', async () => {
    for (const email of [(await signup(api)).email, `ghost-${Date.now()}@example.com`]) {
      for (let i = 0; i < 5; i++) {
        expectProblem(
          await api.post('/v1/auth/login', { email, password: 'wrong password here' }),
          401,
          'invalid_credentials',
        )
      }
      const locked = await api.post('/v1/auth/login', {
        email,
        password: 'correct horse battery staple',
      })
      expectProblem(locked, 429, 'login_locked')
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    }
  })

  it('logs out: the session stops working on the next request', async () => {
    const { session } = await signup(api)
    expect((await api.post('/v1/auth/logout', undefined, session)).status).toBe(204)
    expectProblem(await api.get('/v1/me', session), 401, 'token_revoked')
  })

  it('can turn sign-up off', async () => {
    const closed = client(stack.another({ KEYSTASH_SIGNUP: 'disabled' }))
    expectProblem(
      await closed.post('/v1/auth/signup', {
        email: 'z@example.com',
        password: 'correct horse battery staple',
      }),
      403,
      'signup_disabled',
    )
  })
})

describe('access tokens', () => {
  it('creates, uses, lists, describes and revokes a token', async () => {
    const { session } = await signup(api)
    const created = await api.post(
      '/v1/tokens',
      {
        name: 'ci',
        scopes: ['keys:read'],
        expiresIn: 3600,
        environment: 'staging',
        keys: ['openai-*'],
      },
      session,
    )
    expect(created.status).toBe(201)
    expect(created.headers.get('cache-control')).toBe('no-store')
    const { token, id } = created.body
    expect(created.body).toMatchObject({
      name: 'ci',
      scopes: ['keys:read'],
      environment: 'staging',
      keys: ['openai-*'],
      revokedAt: null,
    })

    const me = await api.get('/v1/me', token)
    expect(me.body).toMatchObject({
      kind: 'access',
      tokenId: id,
      environment: 'staging',
      scopes: ['keys:read'],
      name: 'ci',
    })

    const list = await api.get('/v1/tokens', session)
    expect(list.status).toBe(200)
    expect(list.body.items.map((t: any) => t.id)).toContain(id)
    expect(JSON.stringify(list.body)).not.toContain(token)
    const one = await api.get(`/v1/tokens/${id}`, session)
    expect(one.body.id).toBe(id)
    expect(JSON.stringify(one.body)).not.toContain(token)

    expect((await api.delete(`/v1/tokens/${id}`, session)).status).toBe(204)
    expectProblem(await api.get('/v1/me', token), 401, 'token_revoked')
    expect((await api.delete(`/v1/tokens/${id}`, session)).status).toBe(204)
    expect((await api.get(`/v1/tokens/${id}`, session)).body.revokedAt).not.toBeNull()
  })

  it('paginates with cursors', async () => {
    const { session } = await signup(api)
    for (let i = 0; i < 5; i++) {
      await api.post(
        '/v1/tokens',
        { name: `t${i}`, scopes: ['keys:list'], expiresIn: 600 },
        session,
      )
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: any = await api.get(
        `/v1/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        session,
      )
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items.map((t: any) => t.name))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen.sort()).toEqual(['t0', 't1', 't2', 't3', 't4'])
    expectProblem(await api.get('/v1/tokens?cursor=not-a-cursor', session), 400, 'bad_request')
  })

  it.each([
    [
      'a scope that does not exist',
      { name: 'x', scopes: ['keys:everything'], expiresIn: 60 },
      422,
      'validation_failed',
    ],
    [
      'an expiry in the past',
      { name: 'x', scopes: ['keys:read'], expiresAt: '2001-01-01T00:00:00Z' },
      422,
      'validation_failed',
    ],
    [
      'an expiry beyond the maximum',
      { name: 'x', scopes: ['keys:read'], expiresIn: 91 * 86400 },
      422,
      'validation_failed',
    ],
    ['no expiry', { name: 'x', scopes: ['keys:read'] }, 422, 'validation_failed'],
    [
      'an unknown field',
      { name: 'x', scopes: ['keys:read'], expiresIn: 60, admin: true },
      422,
      'validation_failed',
    ],
    ['a wrong type', { name: 42, scopes: 'keys:read', expiresIn: '60' }, 422, 'validation_failed'],
    ['malformed JSON', '{"name": "x", "scopes": [', 400, 'invalid_json'],
  ])('refuses %s and stores nothing', async (_label, body, status, code) => {
    const { session } = await signup(api)
    expectProblem(await api.post('/v1/tokens', body, session), status, code)
    expect((await api.get('/v1/tokens', session)).body.items).toEqual([])
  })

  it('never mints a token broader than its creator', async () => {
    const { session } = await signup(api)
    const mint = async (body: object, token = session) =>
      api.post('/v1/tokens', { name: 'child', expiresIn: 600, ...body }, token)
    const parent = (
      await mint({
        scopes: ['tokens:write', 'keys:read'],
        keys: ['openai-*'],
        environment: 'staging',
      })
    ).body.token

    expectProblem(await mint({ scopes: ['keys:write'] }, parent), 403, 'scope_escalation')
    expectProblem(
      await mint({ scopes: ['keys:read'], keys: ['stripe'] }, parent),
      403,
      'scope_escalation',
    )
    expectProblem(await mint({ scopes: ['keys:read'] }, parent), 403, 'scope_escalation')
    expectProblem(
      await mint({ scopes: ['keys:read'], keys: ['openai-*'], environment: 'production' }, parent),
      403,
      'scope_escalation',
    )
    expectProblem(
      await mint({ scopes: ['keys:read'], keys: ['openai-*'], expiresIn: 3600 }, parent),
      403,
      'scope_escalation',
    )
    const ok = await mint({ scopes: ['keys:read'], keys: ['openai-prod'], expiresIn: 300 }, parent)
    expect(ok.status).toBe(201)
    expect(ok.body.environment).toBe('staging')

    const readOnly = (await mint({ scopes: ['keys:read'] })).body.token
    const refused = await mint({ scopes: ['keys:read'] }, readOnly)
    expectProblem(refused, 403, 'insufficient_scope')
    expect(refused.body.requiredScope).toBe('tokens:write')
    expectProblem(await api.get('/v1/tokens', readOnly), 403, 'insufficient_scope')
  })
})

describe('verification', () => {
  let token: string
  let payload: Record<string, unknown>
  let header: Record<string, unknown>
  beforeAll(async () => {
    const { session } = await signup(api)
    token = (
      await api.post('/v1/tokens', { name: 'v', scopes: ['keys:read'], expiresIn: 600 }, session)
    ).body.token
    const [h, p] = token.split('.')
    header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString())
    payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString())
  })
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')

  it('accepts the genuine token', async () => {
    expect((await api.get('/v1/me', token)).status).toBe(200)
  })

  it('answers a missing token with 401 and a Bearer challenge', async () => {
    const res = await api.get('/v1/me')
    expectProblem(res, 401, 'unauthorized')
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })

  it('refuses a token in the query string, even a valid one', async () => {
    expectProblem(await api.get(`/v1/me?access_token=${token}`), 401, 'unauthorized')
    expectProblem(await api.get(`/v1/me?token=${token}`, token), 401, 'unauthorized')
  })

  it.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`],
    [
      'a tampered payload',
      () =>
        `${b64(header)}.${b64({ ...payload, scope: 'keys:read keys:write org:admin' })}.${token.split('.')[2]}`,
    ],
    [
      'an unknown kid',
      () =>
        `${b64({ ...header, kid: 'no-such-key' })}.${token.split('.')[1]}.${token.split('.')[2]}`,
    ],
    ['garbage', () => 'not.a.jwt'],
  ])('refuses %s with 401 invalid_token', async (_label, forge) => {
    const res = await api.get('/v1/me', forge())
    expectProblem(res, 401, 'invalid_token')
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })

  it('refuses HS256 signed with the published public key', async () => {
    const jwks = (await api.get('/.well-known/jwks.json')).body
    const jwk = jwks.keys.find((k: any) => k.kid === header.kid)
    const secret = new TextEncoder().encode(JSON.stringify(jwk))
    for (const key of [secret, Buffer.from(jwk.x, 'base64url')]) {
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'JWT' })
        .sign(key)
      expectProblem(await api.get('/v1/me', forged), 401, 'invalid_token')
    }
  })

  it('refuses a token from another signer, or with a wrong issuer or audience', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    const sign = (claims: object) =>
      new SignJWT({ ...payload, ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid: String(header.kid), typ: 'JWT' })
        .sign(privateKey)
    expectProblem(await api.get('/v1/me', await sign({})), 401, 'invalid_token')
    // The same claims re-signed by the genuine key ring but with a wrong iss or aud.
    const ring = stack.deps.ring
    const { kid, privateKey: genuine } = await ring.signingKey()
    for (const claims of [{ iss: 'evil' }, { aud: 'someone-else' }]) {
      const forged = await new SignJWT({ ...payload, ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .sign(genuine)
      expectProblem(await api.get('/v1/me', forged), 401, 'invalid_token')
    }
    const expired = await new SignJWT({ ...payload, iat: 1_000_000, exp: 1_000_600 })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .sign(genuine)
    expectProblem(await api.get('/v1/me', expired), 401, 'token_expired')
  })

  it('refuses every token of a deleted organization', async () => {
    const { session } = await signup(api)
    const app = (
      await api.post('/v1/tokens', { name: 'a', scopes: ['keys:read'], expiresIn: 600 }, session)
    ).body.token
    expectProblem(await api.delete('/v1/org', app), 403, 'insufficient_scope')
    expect((await api.delete('/v1/org', session)).status).toBe(204)
    expectProblem(await api.get('/v1/me', app), 401, 'invalid_token')
    expectProblem(await api.get('/v1/me', session), 401, 'invalid_token')
  })

  it('keeps tokens signed before a signing-key rotation valid, and publishes both keys', async () => {
    const { session } = await signup(api)
    const before = (
      await api.post('/v1/tokens', { name: 'old', scopes: ['keys:read'], expiresIn: 600 }, session)
    ).body.token
    const oldKid = JSON.parse(Buffer.from(before.split('.')[0], 'base64url').toString()).kid
    const newKid = await stack.deps.ring.rotate()
    expect(newKid).not.toBe(oldKid)
    const after = (
      await api.post('/v1/tokens', { name: 'new', scopes: ['keys:read'], expiresIn: 600 }, session)
    ).body.token
    expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString()).kid).toBe(newKid)
    expect((await api.get('/v1/me', before)).status).toBe(200)
    expect((await api.get('/v1/me', after)).status).toBe(200)
    // A second instance that never saw the rotation verifies both, too.
    const other = client(stack.another())
    expect((await other.get('/v1/me', before)).status).toBe(200)
    expect((await other.get('/v1/me', after)).status).toBe(200)
    const kids = (await api.get('/.well-known/jwks.json')).body.keys.map((k: any) => k.kid)
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]))
  })
})

describe('tenant isolation', () => {
  it('answers another tenant’s token ids exactly like missing ones', async () => {
    const a = await signup(api)
    const b = await signup(api)
    const aToken = (
      await api.post('/v1/tokens', { name: 'a', scopes: ['keys:read'], expiresIn: 600 }, a.session)
    ).body
    const missing = 'tok_01aaaaaaaaaaaaaaaaaaaaaaaa'
    for (const [method, path] of [
      ['get', `/v1/tokens/${aToken.id}`],
      ['delete', `/v1/tokens/${aToken.id}`],
    ] as const) {
      const theirs = await api[method](path, b.session)
      const none = await api[method](path.replace(aToken.id, missing), b.session)
      expectProblem(theirs, 404, 'not_found')
      expectProblem(none, 404, 'not_found')
      expect({ ...theirs.body, requestId: 0, traceId: 0 }).toEqual({
        ...none.body,
        requestId: 0,
        traceId: 0,
      })
    }
    expect((await api.get('/v1/tokens', b.session)).body.items).toEqual([])
    expect((await api.get('/v1/me', aToken.token)).status).toBe(200)
  })
})
