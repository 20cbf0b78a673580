import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHostileIssuer } from '../support/hostile-issuer.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

/**
 * Attacks on the token exchange, from a hand-made issuer: each is refused with its stated
 * code, no token is issued, and the audit trail records the refusal.
 */

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

let stack: Stack
let issuer: Awaited<ReturnType<typeof startHostileIssuer>>
let api: ReturnType<typeof client>
let owner: Awaited<ReturnType<typeof signup>>
let relationshipId: string
const now = () => Math.floor(Date.now() / 1000)

beforeAll(async () => {
  stack = await startStack({
    env: { KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true', KEYSTASH_OIDC_JWKS_COOLDOWN_SECONDS: '0' },
  })
  issuer = await startHostileIssuer()
  api = client(stack.app)
  owner = await signup(api)
  relationshipId = await trust(issuer.issuer('good'), { audience: 'keystash-test' })
})
afterAll(async () => {
  await issuer?.close()
  await stack?.close()
})

async function trust(issuerUrl: string, extra: Record<string, unknown> = {}) {
  const res = await api.post(
    '/v1/trust-relationships',
    {
      name: 'ci',
      preset: 'github-actions',
      issuer: issuerUrl,
      conditions: [
        { claim: '/repository_owner', value: 'org' },
        { claim: '/sub', match: 'glob', value: 'repo:org/*' },
      ],
      scopes: ['keys:read'],
      environment: 'production',
      ...extra,
    },
    owner.session,
  )
  if (res.status !== 201) throw new Error(`relationship refused: ${JSON.stringify(res.body)}`)
  return res.body.id as string
}

/** Claims a valid token for the `good` issuer carries; each attack changes one thing. */
const claims = (over: Record<string, unknown> = {}) => ({
  iss: issuer.issuer('good'),
  aud: 'keystash-test',
  sub: 'repo:org/app:ref:refs/heads/main',
  repository_owner: 'org',
  iat: now() - 5,
  exp: now() + 300,
  jti: crypto.randomUUID(),
  ...over,
})

const exchange = (subjectToken: string, audience = relationshipId, app = stack.app) =>
  client(app).post('/v1/auth/token', {
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: JWT_TYPE,
    audience,
  })

const issuedTokens = async () =>
  (await api.get('/v1/tokens?limit=100', owner.session)).body.items.filter(
    (t: { createdBy: { type: string } }) => t.createdBy.type === 'trust',
  ).length

/** The exchange is refused with `code` and OAuth's error member, and issues nothing. */
async function refused(
  subjectToken: string,
  code: string,
  audience = relationshipId,
  app = stack.app,
) {
  const before = await issuedTokens()
  const res = await exchange(subjectToken, audience, app)
  expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400)
  expect(res.body.code).toBe(code)
  expect(res.body.error).toBeTypeOf('string')
  expect(res.body.access_token).toBeUndefined()
  expect(await issuedTokens()).toBe(before)
  return res.body
}

const unsigned = (payload: object) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
    JSON.stringify(payload),
  ).toString('base64url')}.`

describe('subject tokens an attacker controls', () => {
  it('accepts the honest token (the baseline every attack departs from)', async () => {
    const res = await exchange(await issuer.sign(claims()))
    expect(res.status).toBe(200)
  })

  it.each([
    ['a wrong audience', { aud: 'someone-else' }, 'subject_token_audience'],
    [
      'a wrong issuer',
      { iss: 'https://token.actions.githubusercontent.com' },
      'subject_token_issuer',
    ],
    ['an expired token', { iat: now() - 600, exp: now() - 120 }, 'subject_token_expired'],
    ['a future nbf', { nbf: now() + 300 }, 'subject_token_not_yet_valid'],
    ['an iat in the future', { iat: now() + 300 }, 'subject_token_not_yet_valid'],
    ['a token too old for the relationship', { iat: now() - 3600 }, 'subject_token_too_old'],
    ['a claim that does not match', { repository_owner: 'other-org' }, 'subject_token_claims'],
    [
      'a glob that must not match (repo:org/* against repo:org-evil/x)',
      { sub: 'repo:org-evil/x' },
      'subject_token_claims',
    ],
    ['a missing sub', { sub: undefined }, 'subject_token_malformed'],
  ])('refuses %s', async (_label, over, code) => {
    await refused(await issuer.sign(claims(over)), code)
  })

  it('refuses alg none', async () => {
    await refused(unsigned(claims()), 'subject_token_algorithm')
  })

  it('refuses HS256 signed with the issuer’s public key (algorithm confusion)', async () => {
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'JWT' })
      .sign(new TextEncoder().encode(issuer.publicPem))
    await refused(forged, 'subject_token_algorithm')
  })

  it('refuses a token signed by another key under a published kid', async () => {
    await refused(await issuer.sign(claims(), { key: 'k2', kid: 'k1' }), 'subject_token_signature')
  })

  it('refuses an unknown kid, then accepts it once the issuer has rotated its keys', async () => {
    const rotatedToken = await issuer.sign(claims(), { key: 'k2' })
    await refused(rotatedToken, 'subject_token_unknown_key')
    issuer.rotate()
    // The unknown kid makes the server fetch the key set again (cooldown 0 here).
    expect((await exchange(await issuer.sign(claims(), { key: 'k2' }))).status).toBe(200)
  })

  it('refuses garbage and wrong request shapes with OAuth errors', async () => {
    await refused('not-a-jwt', 'subject_token_malformed')
    const wrongGrant = await api.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      subject_token: 'x',
      subject_token_type: JWT_TYPE,
      audience: relationshipId,
    })
    expect(wrongGrant.body).toMatchObject({
      code: 'token_exchange_unsupported',
      error: 'unsupported_grant_type',
    })
    const noAudience = await api.post('/v1/auth/token', {
      grant_type: GRANT,
      subject_token: 'x',
      subject_token_type: JWT_TYPE,
    })
    expect(noAudience.body).toMatchObject({
      code: 'token_exchange_invalid',
      error: 'invalid_request',
    })
    const unknown = await exchange(await issuer.sign(claims()), 'trs_00000000000000000000000000')
    expect(unknown.body).toMatchObject({
      code: 'trust_relationship_unknown',
      error: 'invalid_target',
    })
  })
})

describe('one-time use across instances', () => {
  it('refuses a replay on a second instance', async () => {
    const token = await issuer.sign(claims())
    expect((await exchange(token)).status).toBe(200)
    await refused(token, 'subject_token_replayed', relationshipId, stack.another())
  })

  it('needs a jti when one-time use is on', async () => {
    await refused(await issuer.sign(claims({ jti: undefined })), 'subject_token_malformed')
  })
})

describe('issuers the server must not be made to reach', () => {
  it('refuses an issuer whose discovery redirects to 169.254.169.254', async () => {
    const id = await trust(issuer.issuer('redirect'), { audience: 'keystash-test' })
    const body = await refused(
      await issuer.sign(claims({ iss: issuer.issuer('redirect') })),
      'issuer_refused',
      id,
    )
    expect(body.outbound).toBe('outbound_redirect')
  })

  it('refuses an issuer resolving to 127.0.0.1 in production mode', async () => {
    const localIssuer = `https://localhost:${issuer.port}/good`
    const id = await trust(localIssuer, { audience: 'keystash-test' })
    const production = stack.another({ KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'false' })
    const body = await refused(
      await issuer.sign(claims({ iss: localIssuer })),
      'issuer_refused',
      id,
      production,
    )
    expect(body.outbound).toBe('outbound_address')
  })

  it('refuses an oversized key set', async () => {
    const id = await trust(issuer.issuer('huge'), { audience: 'keystash-test' })
    const body = await refused(
      await issuer.sign(claims({ iss: issuer.issuer('huge') })),
      'issuer_refused',
      id,
    )
    expect(body.outbound).toBe('outbound_too_large')
  })

  it('refuses a key set that never finishes arriving', async () => {
    const id = await trust(issuer.issuer('slow'), { audience: 'keystash-test' })
    const impatient = stack.another({
      KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true',
      KEYSTASH_OUTBOUND_TIMEOUT_MS: '300',
    })
    const body = await refused(
      await issuer.sign(claims({ iss: issuer.issuer('slow') })),
      'issuer_refused',
      id,
      impatient,
    )
    expect(body.outbound).toBe('outbound_timeout')
  })
})

describe('the audit trail of the attacks', () => {
  it('holds a denied token.exchange event per refusal, with its code', async () => {
    await stack.deps.audit.flush()
    const events: { outcome: { result: string; code: string | null } }[] = []
    let cursor: string | null = null
    do {
      const page: { body: { items: typeof events; nextCursor: string | null } } = await api.get(
        `/v1/audit?action=token.exchange&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
        owner.session,
      )
      events.push(...page.body.items)
      cursor = page.body.nextCursor
    } while (cursor)
    const codes = new Set(
      events.filter((e) => e.outcome.result !== 'success').map((e) => e.outcome.code),
    )
    for (const code of [
      'subject_token_audience',
      'subject_token_issuer',
      'subject_token_expired',
      'subject_token_not_yet_valid',
      'subject_token_too_old',
      'subject_token_claims',
      'subject_token_algorithm',
      'subject_token_signature',
      'subject_token_unknown_key',
      'subject_token_replayed',
      'issuer_refused',
    ]) {
      expect(codes, code).toContain(code)
    }
  })
})
