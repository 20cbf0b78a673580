import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type OidcIssuer, startOidcIssuer } from '../support/oidc-issuer.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { addTeammate } from '../support/teams.ts'

/**
 * Workload identity federation against a real OpenID provider (oidc-provider), issuing tokens
 * with each platform's claim shape. The issuer listens on loopback, which only the
 * development/test setting KEYSTASH_OUTBOUND_ALLOW_LOCAL lets the server reach.
 */

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

let stack: Stack
let issuer: OidcIssuer
let api: ReturnType<typeof client>
let owner: Awaited<ReturnType<typeof signup>>

beforeAll(async () => {
  stack = await startStack({
    env: {
      KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true',
      KEYSTASH_PUBLIC_URL: 'https://vault.example.test',
    },
  })
  issuer = await startOidcIssuer()
  api = client(stack.app)
  owner = await signup(api)
  await api.post('/v1/keys', { name: 'stripe', value: 'sk_live_wif_value' }, owner.session)
})
afterAll(async () => {
  await issuer?.close()
  await stack?.close()
})

/** GitHub Actions' ID token claims, as GitHub documents them. */
const github = (over: Record<string, unknown> = {}) => ({
  sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
  repository: 'octo-org/octo-repo',
  repository_owner: 'octo-org',
  repository_owner_id: '5429',
  repository_id: '74829',
  repository_visibility: 'private',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  sha: 'example-sha',
  workflow: 'deploy',
  job_workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
  actor: 'octocat',
  actor_id: '12',
  run_id: '100',
  run_number: '3',
  run_attempt: '1',
  event_name: 'push',
  runner_environment: 'github-hosted',
  ...over,
})

/** A Kubernetes projected service-account token's claims. */
const kubernetes = (namespace = 'payments', account = 'api') => ({
  sub: `system:serviceaccount:${namespace}:${account}`,
  'kubernetes.io': {
    namespace,
    pod: { name: `${account}-7d9c`, uid: '1b2c' },
    serviceaccount: { name: account, uid: '9f8e' },
  },
})

/** A GitLab CI job's ID token claims. */
const gitlab = (over: Record<string, unknown> = {}) => ({
  sub: 'project_path:acme/billing:ref_type:branch:ref:main',
  namespace_id: '72',
  namespace_path: 'acme',
  project_id: '20',
  project_path: 'acme/billing',
  user_id: '1',
  user_login: 'dev',
  pipeline_id: '1212',
  pipeline_source: 'push',
  job_id: '3434',
  ref: 'main',
  ref_type: 'branch',
  ref_protected: 'true',
  ...over,
})

async function trust(body: Record<string, unknown>, token = owner.session) {
  return api.post(
    '/v1/trust-relationships',
    {
      name: 'deploy',
      issuer: issuer.issuer,
      scopes: ['keys:read'],
      environment: 'production',
      ...body,
    },
    token,
  )
}

const exchange = (subjectToken: string, audience: string) =>
  api.post('/v1/auth/token', {
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: JWT_TYPE,
    audience,
  })

describe('GitHub Actions', () => {
  it('exchanges an ID token once for a short-lived token that reads a key', async () => {
    const created = await trust({
      preset: 'github-actions',
      conditions: [
        { claim: '/repository_owner_id', value: '5429' },
        { claim: '/sub', match: 'glob', value: 'repo:octo-org/octo-repo:*' },
      ],
    })
    expect(created.status).toBe(201)
    const relationship = created.body
    expect(relationship).toMatchObject({ oneTimeUse: true, audience: relationship.id })

    const idToken = await issuer.issue({ aud: relationship.id, claims: github() })
    const exchanged = await exchange(idToken, relationship.id)
    expect(exchanged.status).toBe(200)
    expect(exchanged.headers.get('cache-control')).toBe('no-store')
    expect(exchanged.body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
    })
    // Default 15 minutes, but never beyond the subject token (300 s at this issuer).
    expect(exchanged.body.expires_in).toBeGreaterThan(290)
    expect(exchanged.body.expires_in).toBeLessThanOrEqual(300)

    const read = await api.get('/v1/keys/stripe/value', exchanged.body.access_token)
    expect(read.status).toBe(200)
    expect(read.body.value).toBe('sk_live_wif_value')

    // The issued token is an ordinary access token, attributed to the relationship and workload.
    const listed = (await api.get('/v1/tokens', owner.session)).body.items
    const issued = listed.find(
      (t: { createdBy: { id: string } }) => t.createdBy.id === relationship.id,
    )
    expect(issued).toMatchObject({
      createdBy: { type: 'trust', id: relationship.id },
      workload: { issuer: issuer.issuer, subject: github().sub },
      scopes: ['keys:read'],
      environment: 'production',
    })

    // One-time use: the same ID token is refused the second time.
    const again = await exchange(idToken, relationship.id)
    expect(again.status).toBe(400)
    expect(again.body).toMatchObject({ code: 'subject_token_replayed', error: 'invalid_grant' })

    const listedRelationships = (await api.get('/v1/trust-relationships', owner.session)).body
    expect(listedRelationships.items.map((r: { id: string }) => r.id)).toContain(relationship.id)
  })

  it('stop exchanging once their creator is no longer an owner', async () => {
    const second = await addTeammate(api, owner.session, 'owner')
    const created = await trust(
      { preset: 'github-actions', conditions: [{ claim: '/repository_owner_id', value: '5429' }] },
      second.session,
    )
    expect(created.status).toBe(201)
    const id = created.body.id as string
    const before = await exchange(await issuer.issue({ aud: id, claims: github() }), id)
    expect(before.status).toBe(200)
    const demoted = await api.patch(
      `/v1/org/members/${second.userId}`,
      { role: 'admin' },
      owner.session,
    )
    expect(demoted.status).toBe(200)
    const after = await exchange(await issuer.issue({ aud: id, claims: github() }), id)
    expect([after.status, after.body.code]).toEqual([400, 'trust_relationship_inactive'])
  })

  it('refuses a sub glob alone: the owner must be pinned without a wildcard', async () => {
    const refused = await trust({
      preset: 'github-actions',
      conditions: [{ claim: '/sub', match: 'glob', value: 'repo:octo-org/*' }],
    })
    expect(refused.status).toBe(422)
    expect(refused.body.code).toBe('trust_owner_unpinned')
    const globbedOwner = await trust({
      preset: 'github-actions',
      conditions: [{ claim: '/repository_owner', match: 'glob', value: 'octo-*' }],
    })
    expect(globbedOwner.body.code).toBe('trust_owner_unpinned')
  })

  it('accepts the form-encoded body OAuth clients send', async () => {
    const relationship = (
      await trust({
        preset: 'github-actions',
        conditions: [{ claim: '/repository_id', value: '74829' }],
      })
    ).body
    const idToken = await issuer.issue({ aud: relationship.id, claims: github() })
    const res = await stack.app.request('/v1/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: GRANT,
        subject_token: idToken,
        subject_token_type: JWT_TYPE,
        resource: relationship.id,
      }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { token_type: string }).token_type).toBe('Bearer')
  })
})

describe('Kubernetes service accounts', () => {
  it('exchanges the same projected token repeatedly, and only from the pinned namespace', async () => {
    const relationship = (
      await trust({
        preset: 'kubernetes',
        audience: 'https://keystash.example',
        scopes: ['keys:read', 'keys:list'],
        conditions: [
          { claim: '/kubernetes.io/namespace', value: 'payments' },
          { claim: '/kubernetes.io/serviceaccount/name', value: 'api' },
        ],
      })
    ).body
    expect(relationship).toMatchObject({ oneTimeUse: false, maxSubjectTokenAgeSeconds: 2880 })
    const projected = await issuer.issue({
      aud: 'https://keystash.example',
      claims: kubernetes(),
      alg: 'ES256',
    })
    expect((await exchange(projected, relationship.id)).status).toBe(200)
    expect((await exchange(projected, relationship.id)).status).toBe(200)

    // RFC 8693 `scope` narrows what the relationship grants, and never widens it.
    const narrowed = await api.post('/v1/auth/token', {
      grant_type: GRANT,
      subject_token: projected,
      subject_token_type: JWT_TYPE,
      audience: relationship.id,
      scope: 'keys:read',
    })
    expect(narrowed.status).toBe(200)
    const me = await api.get('/v1/me', narrowed.body.access_token)
    expect(me.body.scopes).toEqual(['keys:read'])
    const widened = await api.post('/v1/auth/token', {
      grant_type: GRANT,
      subject_token: projected,
      subject_token_type: JWT_TYPE,
      audience: relationship.id,
      scope: 'keys:read keys:write',
    })
    expect(widened.body).toMatchObject({ code: 'token_exchange_scope', error: 'invalid_scope' })

    const otherNamespace = await issuer.issue({
      aud: 'https://keystash.example',
      claims: kubernetes('default', 'api'),
      alg: 'ES256',
    })
    const refused = await exchange(otherNamespace, relationship.id)
    expect(refused.status).toBe(400)
    expect(refused.body).toMatchObject({
      code: 'subject_token_claims',
      claim: '/kubernetes.io/namespace',
      error: 'invalid_grant',
    })
  })
})

describe('GitLab CI', () => {
  it('exchanges an EdDSA-signed job token pinned by project id', async () => {
    const relationship = (
      await trust({
        preset: 'gitlab-ci',
        audience: 'https://keystash.example/gitlab',
        conditions: [
          { claim: '/project_id', value: '20' },
          { claim: '/ref_protected', value: 'true' },
        ],
        tokenTtlSeconds: 120,
      })
    ).body
    const jobToken = await issuer.issue({
      aud: 'https://keystash.example/gitlab',
      claims: gitlab(),
      alg: 'EdDSA',
    })
    const exchanged = await exchange(jobToken, relationship.id)
    expect(exchanged.status).toBe(200)
    expect(exchanged.body.expires_in).toBeLessThanOrEqual(120)

    const unprotected = await issuer.issue({
      aud: 'https://keystash.example/gitlab',
      claims: gitlab({ ref_protected: 'false' }),
      alg: 'EdDSA',
    })
    expect((await exchange(unprotected, relationship.id)).body.code).toBe('subject_token_claims')
  })
})

describe('relationships as lasting grants', () => {
  it('cannot be created or deleted with an access token', async () => {
    const token = (
      await api.post(
        '/v1/tokens',
        { name: 'ci', scopes: ['keys:read', 'org:admin', 'tokens:write'], expiresIn: 600 },
        owner.session,
      )
    ).body.token
    const refused = await trust(
      { preset: 'generic', conditions: [{ claim: '/sub', value: 'x' }] },
      token,
    )
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('session_required')
    expect((await api.get('/v1/trust-relationships', owner.session)).body.items).not.toContainEqual(
      expect.objectContaining({ name: 'deploy', preset: 'generic' }),
    )
  })

  it('grant no more than their creator holds', async () => {
    const refused = await trust({
      preset: 'generic',
      conditions: [{ claim: '/sub', value: 'x' }],
      scopes: ['keys:read'],
      tokenTtlSeconds: 7200,
    })
    expect(refused.status).toBe(422)
  })

  it('take their tokens with them when deleted, and their tokens’ children', async () => {
    const relationship = (
      await trust({
        preset: 'kubernetes',
        audience: 'https://keystash.example/del',
        conditions: [{ claim: '/kubernetes.io/namespace', value: 'payments' }],
        scopes: ['keys:read', 'tokens:write'],
      })
    ).body
    const projected = await issuer.issue({
      aud: 'https://keystash.example/del',
      claims: kubernetes(),
      alg: 'ES256',
    })
    const token = (await exchange(projected, relationship.id)).body.access_token
    const child = (
      await api.post(
        '/v1/tokens',
        { name: 'child', scopes: ['keys:read'], expiresIn: 60, environment: 'production' },
        token,
      )
    ).body.token
    expect((await api.get('/v1/keys/stripe/value', token)).status).toBe(200)
    expect((await api.get('/v1/keys/stripe/value', child)).status).toBe(200)

    expect(
      (await api.delete(`/v1/trust-relationships/${relationship.id}`, owner.session)).status,
    ).toBe(204)
    for (const revoked of [token, child]) {
      const res = await api.get('/v1/keys/stripe/value', revoked)
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('token_revoked')
    }
    // And nothing more is exchanged under it.
    const after = await exchange(projected, relationship.id)
    expect(after.body).toMatchObject({
      code: 'trust_relationship_unknown',
      error: 'invalid_target',
    })
    // Another tenant's session cannot see or delete anyone else's relationship.
    const stranger = await signup(api)
    expect(
      (await api.get(`/v1/trust-relationships/${relationship.id}`, stranger.session)).status,
    ).toBe(404)
  })

  it('stop their tokens on every instance within the record-cache bound', async () => {
    const relationship = (
      await trust({
        preset: 'kubernetes',
        audience: 'https://keystash.example/multi',
        conditions: [{ claim: '/kubernetes.io/namespace', value: 'payments' }],
      })
    ).body
    const projected = await issuer.issue({
      aud: 'https://keystash.example/multi',
      claims: kubernetes(),
      alg: 'ES256',
    })
    const token = (await exchange(projected, relationship.id)).body.access_token
    const elsewhere = client(stack.another())
    // The other instance has verified the token and holds its status in memory.
    expect((await elsewhere.get('/v1/keys/stripe/value', token)).status).toBe(200)
    await api.delete(`/v1/trust-relationships/${relationship.id}`, owner.session)
    // Within the bound (1 s by default) it reads the status again, relationship included.
    await vi.waitFor(
      async () => {
        const res = await elsewhere.get('/v1/keys/stripe/value', token)
        expect(res.body.code).toBe('token_revoked')
      },
      { timeout: 10_000, interval: 100 },
    )
  })

  it('is invisible to other tenants: their ids answer like missing ones', async () => {
    const relationship = (
      await trust({ preset: 'generic', conditions: [{ claim: '/sub', value: 'svc' }] })
    ).body
    const stranger = await signup(api)
    const get = await api.get(`/v1/trust-relationships/${relationship.id}`, stranger.session)
    const del = await api.delete(`/v1/trust-relationships/${relationship.id}`, stranger.session)
    const missing = await api.get(
      '/v1/trust-relationships/trs_00000000000000000000000000',
      stranger.session,
    )
    expect([get.status, del.status, missing.status]).toEqual([404, 404, 404])
    expect(get.body.code).toBe(missing.body.code)
    expect(
      (await api.get(`/v1/trust-relationships/${relationship.id}`, owner.session)).status,
    ).toBe(200)
  })
})

describe('the audit trail', () => {
  it('records granted and refused exchanges with the workload, never the token', async () => {
    const relationship = (
      await trust({
        preset: 'github-actions',
        conditions: [{ claim: '/repository_owner_id', value: '5429' }],
      })
    ).body
    const idToken = await issuer.issue({ aud: relationship.id, claims: github() })
    expect((await exchange(idToken, relationship.id)).status).toBe(200)
    expect((await exchange(idToken, relationship.id)).status).toBe(400)
    await stack.deps.audit.flush()
    const events = (
      await api.get(`/v1/audit?action=token.exchange&targetId=${relationship.id}`, owner.session)
    ).body.items
    expect(
      events.map((e: { outcome: { result: string; code: string | null } }) => e.outcome),
    ).toEqual([
      { result: 'denied', code: 'subject_token_replayed' },
      { result: 'success', code: null },
    ])
    for (const event of events) {
      expect(event.details).toMatchObject({ issuer: issuer.issuer, subject: github().sub })
      expect(JSON.stringify(event)).not.toContain(idToken.split('.')[2])
    }
    const changes = (
      await api.get(`/v1/audit?action=trust.*&targetId=${relationship.id}`, owner.session)
    ).body.items
    expect(changes.map((e: { action: string }) => e.action)).toEqual(['trust.create'])
  })
})
