import { PutCommand } from '@aws-sdk/lib-dynamodb'
import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken } from '../../src/auth/jwt.ts'
import { tokenItem } from '../../src/storage/token-record.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

/**
 * What binds an access token beyond its signature: the client addresses it may be used from,
 * its stored record (which its claims must equal), and the signing key, which an operator can
 * revoke in an emergency.
 */

/** Real time plus an offset the test moves, instead of sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset }

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({ clock })
  api = client(stack.app)
})
afterAll(() => stack?.close())

/** A request as it arrives from a socket whose peer is `address`, as @hono/node-server binds it. */
async function from(
  app: { request: typeof stack.app.request },
  address: string,
  path: string,
  token: string,
  forwardedFor?: string,
) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor
  const res = await app.request(
    path,
    { headers },
    { incoming: { socket: { remoteAddress: address } } },
  )
  const body = (await res.json()) as Record<string, unknown>
  return { status: res.status, code: body.code, body }
}

describe('address allow-lists', () => {
  it('admits IPv4 and IPv6 clients inside the ranges and refuses others on both read paths, with an audit event', async () => {
    const { session } = await signup(api)
    await api.post('/v1/keys', { name: 'openai', value: 'sk-proj-cidr-value' }, session)
    const token = await tokenMinter(
      api,
      session,
    )({
      scopes: ['keys:read'],
      cidrs: ['192.0.2.0/24', '2001:db8::/32'],
    })
    const path = '/v1/keys/openai/value'
    // Warm, so the early entrance would answer if it did not check the address.
    for (let i = 0; i < 3; i++)
      expect((await from(stack.app, '192.0.2.10', path, token)).status).toBe(200)
    expect((await from(stack.app, '::ffff:192.0.2.11', path, token)).status).toBe(200)
    expect((await from(stack.app, '2001:db8::5', path, token)).status).toBe(200)

    for (const outside of ['198.51.100.1', '2001:db9::5', '::1']) {
      const refused = await from(stack.app, outside, path, token)
      expect([refused.status, refused.code]).toEqual([403, 'address_not_allowed'])
    }
    // Refused by the route too (a query string skips the early entrance).
    expect((await from(stack.app, '198.51.100.1', `${path}?version=1`, token)).status).toBe(403)
    // Without a socket (no address), it is refused too.
    expect((await api.get(path, token)).status).toBe(403)

    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=token.rejected', session)).body.items
    const refusal = events.find((e: any) => e.client?.address === '2001:db9::5')
    expect(refusal.outcome).toEqual({ result: 'denied', code: 'address_not_allowed' })
  })

  it('believes X-Forwarded-For only from trusted proxies, walking right to left', async () => {
    const { session } = await signup(api)
    const token = await tokenMinter(
      api,
      session,
    )({ scopes: ['keys:list'], cidrs: ['192.0.2.0/24'] })
    const behindProxy = stack.another({ KEYSTASH_TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8' })

    // Spoofed: the peer is not a trusted proxy, so the header is ignored on either instance.
    for (const app of [stack.app, behindProxy]) {
      const spoofed = await from(app, '198.51.100.1', '/v1/keys', token, '192.0.2.10')
      expect([spoofed.status, spoofed.code]).toEqual([403, 'address_not_allowed'])
    }
    // A chain of trusted proxies: the client is the first untrusted hop from the right;
    // anything the client wrote left of it is ignored.
    const chained = await from(
      behindProxy,
      '10.0.0.5',
      '/v1/keys',
      token,
      '203.0.113.1, 192.0.2.10, 10.0.0.7',
    )
    expect(chained.status).toBe(200)
    const viaV6 = await from(behindProxy, 'fd00::1', '/v1/keys', token, '192.0.2.10')
    expect(viaV6.status).toBe(200)
    const wrongHop = await from(
      behindProxy,
      '10.0.0.5',
      '/v1/keys',
      token,
      '192.0.2.10, 198.51.100.1',
    )
    expect([wrongHop.status, wrongHop.code]).toEqual([403, 'address_not_allowed'])
  })

  it('passes the ranges down the tree: inherited by default, narrowed, never widened', async () => {
    const { session } = await signup(api)
    const parent = (
      await api.post(
        '/v1/tokens',
        {
          name: 'p',
          scopes: ['tokens:write', 'keys:list'],
          expiresIn: 3600,
          cidrs: ['10.0.0.0/8'],
        },
        session,
      )
    ).body
    const mint = (body: object) =>
      from(stack.app, '10.1.1.1', '/v1/tokens', parent.token).then(() =>
        stack.app.request(
          '/v1/tokens',
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${parent.token}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify({ name: 'c', scopes: ['keys:list'], expiresIn: 600, ...body }),
          },
          { incoming: { socket: { remoteAddress: '10.1.1.1' } } },
        ),
      )
    const inherited = await mint({})
    expect(inherited.status).toBe(201)
    expect(((await inherited.json()) as { cidrs: string[] }).cidrs).toEqual(['10.0.0.0/8'])
    const narrowed = await mint({ cidrs: ['10.1.0.0/16'] })
    expect(((await narrowed.json()) as { cidrs: string[] }).cidrs).toEqual(['10.1.0.0/16'])
    const widened = await mint({ cidrs: ['0.0.0.0/0'] })
    expect(widened.status).toBe(403)
    expect(((await widened.json()) as { code: string }).code).toBe('scope_escalation')
    const malformed = await mint({ cidrs: ['10.0.0.0/33'] })
    expect(malformed.status).toBe(422)
  })
})

describe('claims equal the record', () => {
  it('refuses, and logs, a validly signed token whose claims differ from its record', async () => {
    const { session, tenantId } = await signup(api)
    const created = (
      await api.post(
        '/v1/tokens',
        { name: 'narrow', scopes: ['keys:list'], keys: ['openai'], expiresIn: 600 },
        session,
      )
    ).body
    expect((await api.get('/v1/keys', created.token)).status).toBe(200)
    const forge = (over: object) =>
      issueToken(stack.deps.ring, {
        issuer: stack.deps.config.auth.issuer,
        audience: stack.deps.config.auth.audience,
        kind: 'access',
        tokenId: created.id,
        tenantId,
        subject: created.id,
        scopes: ['keys:list'],
        keys: ['openai'],
        ancestors: [],
        environment: 'production',
        expiresAt: new Date(created.expiresAt),
        ...over,
      })
    const variants = {
      scopes: { scopes: ['keys:list', 'keys:read', 'tokens:write'] },
      keys: { keys: undefined },
      environment: { environment: 'development' },
      cidrs: { cidrs: ['0.0.0.0/0'] },
      expiresAt: { expiresAt: new Date(Date.parse(created.expiresAt) - 60_000) },
      ancestors: { ancestors: ['tok_00000000000000000000000000'] },
    }
    for (const [field, over] of Object.entries(variants)) {
      const res = await api.get('/v1/keys', await forge(over))
      expect([field, res.status, res.body.code]).toEqual([field, 401, 'invalid_token'])
      const logged = stack.logs
        .lines()
        .find((l: any) => l.msg?.includes('claims differ') && l.fields?.includes(field))
      expect(logged, field).toBeDefined()
    }
    // The genuine token, and one re-signed with exactly its claims, still work.
    expect((await api.get('/v1/keys', created.token)).status).toBe(200)
    expect((await api.get('/v1/keys', await forge({}))).status).toBe(200)
  })
})

describe('tokens of earlier releases', () => {
  it('a key-restricted token holding org:admin keeps its key powers and loses the tenant-wide ones', async () => {
    const { tenantId } = await signup(api)
    const now = Date.now()
    const record = {
      tenantId,
      tokenId: 'tok_01legacyrestrictedadmin000',
      kind: 'access' as const,
      name: 'legacy',
      scopes: ['keys:list', 'org:admin'] as never[],
      keys: ['openai'],
      environment: 'production' as const,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(Math.floor(now / 1000) * 1000 + 600_000).toISOString(),
      createdBy: { type: 'user' as const, id: 'usr_legacy' },
    }
    // As the earlier release stored and signed it: no ancestors, the old scope name.
    await stack.table.doc.send(
      new PutCommand({ TableName: stack.table.tableName, Item: tokenItem(record) }),
    )
    const token = await issueToken(stack.deps.ring, {
      issuer: stack.deps.config.auth.issuer,
      audience: stack.deps.config.auth.audience,
      kind: 'access',
      tokenId: record.tokenId,
      tenantId,
      subject: record.tokenId,
      scopes: ['keys:list', 'org:admin' as never],
      keys: record.keys,
      environment: 'production',
      expiresAt: new Date(record.expiresAt),
    })
    expect((await api.get('/v1/keys', token)).status).toBe(200)
    const org = await api.get('/v1/org', token)
    expect([org.status, org.body.code]).toEqual([403, 'insufficient_scope'])
    expect((await api.get('/v1/me', token)).body.scopes).toEqual(['keys:list'])
  })
})

describe('emergency revocation of a signing key', () => {
  it('stops every token it signed at once on every instance, and the JWKS drops it', async () => {
    const { session, email, password } = await signup(api)
    const token = await tokenMinter(api, session)({ scopes: ['keys:list'] })
    const kid = decodeProtectedHeader(token).kid as string
    expect((await api.get('/v1/keys', token)).status).toBe(200)

    // What `npm run rotate-signing-key -- --revoke-previous` does, from another process.
    const operator = stack.anotherInstance()
    const { revoked } = await operator.deps.ring.revokePrevious()
    expect(revoked).toContain(kid)

    // An instance that had not seen the token refuses it on its first request.
    const there = await client(operator.app).get('/v1/keys', token)
    expect([there.status, there.body.code]).toEqual([401, 'signing_key_revoked'])
    // This instance may serve the cached status for the staleness bound, not longer.
    clock.offset += 1001
    const here = await api.get('/v1/keys', token)
    expect([here.status, here.body.code]).toEqual([401, 'signing_key_revoked'])
    expect((await api.get('/v1/me', session)).body.code).toBe('signing_key_revoked')

    for (const app of [stack.app, operator.app]) {
      const jwks = (await client(app).get('/.well-known/jwks.json')).body
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).not.toContain(kid)
    }
    // New credentials are signed by the new key and work.
    const login = await api.post('/v1/auth/login', { email, password })
    expect(login.status).toBe(200)
    const fresh = login.body.session.token as string
    expect(decodeProtectedHeader(fresh).kid).not.toBe(kid)
    expect((await api.get('/v1/me', fresh)).status).toBe(200)
  })
})
