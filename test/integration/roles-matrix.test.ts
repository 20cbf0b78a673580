import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Environment } from '../../src/config.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { addTeammate } from '../support/teams.ts'

/**
 * Every role against every route and environment: role × route × environment → status. The
 * members are real people invited into one organization; a developer with an owner's
 * production-reveal grant is a fifth column. Access tokens minted by each person are read
 * with in each environment, so "reveals" covers the tokens a role can create, not only its
 * session.
 */
const PEOPLE = ['owner', 'admin', 'developer', 'granted', 'viewer'] as const
type Person = (typeof PEOPLE)[number]
type Api = ReturnType<typeof client>
type Expected = Record<Person, number>

const ENVIRONMENTS: Environment[] = ['development', 'staging', 'production']

/** Compact rows: owner, admin, developer, developer with grant, viewer. */
const row = (...statuses: [number, number, number, number, number]): Expected => ({
  owner: statuses[0],
  admin: statuses[1],
  developer: statuses[2],
  granted: statuses[3],
  viewer: statuses[4],
})

interface Case {
  route: string
  environment?: Environment
  expected: Expected
  call: (api: Api, session: string, person: Person) => Promise<number>
}

const status = (res: { status: number }) => res.status

/** Mints a `keys:read` token for the environment, then reads the value with it. */
const revealWith = (environment: Environment) => async (api: Api, session: string) => {
  const minted = await api.post(
    '/v1/tokens',
    { name: `read-${environment}`, scopes: ['keys:read'], expiresIn: 600, environment },
    session,
  )
  if (minted.status !== 201) return minted.status
  return (await api.get('/v1/keys/openai/value', minted.body.token)).status
}

const CASES: Case[] = [
  {
    route: 'GET /v1/keys',
    expected: row(200, 200, 200, 200, 200),
    call: (a, s) => a.get('/v1/keys', s).then(status),
  },
  {
    route: 'GET /v1/keys/{ref}',
    expected: row(200, 200, 200, 200, 200),
    call: (a, s) => a.get('/v1/keys/openai', s).then(status),
  },
  {
    route: 'GET /v1/keys/{ref}/value (session)',
    environment: 'production',
    expected: row(200, 200, 403, 200, 403),
    call: (a, s) => a.get('/v1/keys/openai/value', s).then(status),
  },
  ...ENVIRONMENTS.map(
    (environment): Case => ({
      route: 'POST /v1/tokens keys:read, then GET /v1/keys/{ref}/value with it',
      environment,
      expected:
        environment === 'production' ? row(200, 200, 403, 200, 403) : row(200, 200, 200, 200, 403),
      call: revealWith(environment),
    }),
  ),
  ...ENVIRONMENTS.map(
    (environment): Case => ({
      route: 'POST /v1/tokens keys:list',
      environment,
      expected: row(201, 201, 201, 201, 403),
      call: (a, s) =>
        a
          .post(
            '/v1/tokens',
            { name: 'list', scopes: ['keys:list'], expiresIn: 600, environment },
            s,
          )
          .then(status),
    }),
  ),
  {
    route: 'POST /v1/tokens mock:write',
    environment: 'production',
    expected: row(201, 201, 403, 403, 403),
    call: (a, s) =>
      a
        .post('/v1/tokens', { name: 'mock', scopes: ['mock:write'], expiresIn: 600 }, s)
        .then(status),
  },
  {
    route: 'POST /v1/keys',
    expected: row(201, 201, 201, 201, 403),
    call: (a, s, p) =>
      a
        .post('/v1/keys', { name: `key-${p}`, value: `value-${p}`, provider: 'openai' }, s)
        .then(status),
  },
  {
    route: 'PUT /v1/keys/{ref}/value',
    expected: row(200, 200, 200, 200, 403),
    call: (a, s, p) =>
      a.put('/v1/keys/openai/value', { value: `sk-proj-next-${p}` }, s).then(status),
  },
  {
    route: 'GET /v1/tokens',
    expected: row(200, 200, 200, 200, 403),
    call: (a, s) => a.get('/v1/tokens', s).then(status),
  },
  {
    route: 'GET /v1/org',
    expected: row(200, 200, 200, 200, 200),
    call: (a, s) => a.get('/v1/org', s).then(status),
  },
  {
    route: 'PATCH /v1/org mockDefaults',
    environment: 'staging',
    expected: row(200, 200, 403, 403, 403),
    call: (a, s) => a.patch('/v1/org', { mockDefaults: { staging: 'mock' } }, s).then(status),
  },
  {
    route: 'PATCH /v1/org name',
    expected: row(200, 403, 403, 403, 403),
    call: (a, s) => a.patch('/v1/org', { name: 'matrix' }, s).then(status),
  },
  {
    route: 'GET /v1/audit',
    expected: row(200, 200, 403, 403, 200),
    call: (a, s) => a.get('/v1/audit', s).then(status),
  },
  {
    route: 'GET /v1/org/encryption',
    expected: row(200, 200, 200, 200, 200),
    call: (a, s) => a.get('/v1/org/encryption', s).then(status),
  },
  {
    route: 'PUT /v1/org/encryption/rekey',
    expected: row(200, 403, 403, 403, 403),
    call: (a, s) => a.put('/v1/org/encryption/rekey', { periodDays: 365 }, s).then(status),
  },
  {
    route: 'GET /v1/webhooks',
    expected: row(200, 403, 403, 403, 403),
    call: (a, s) => a.get('/v1/webhooks', s).then(status),
  },
  {
    route: 'GET /v1/trust-relationships',
    expected: row(200, 403, 403, 403, 403),
    call: (a, s) => a.get('/v1/trust-relationships', s).then(status),
  },
  {
    route: 'GET /v1/org/members',
    expected: row(200, 200, 200, 200, 200),
    call: (a, s) => a.get('/v1/org/members', s).then(status),
  },
  {
    route: 'POST /v1/org/invitations',
    expected: row(201, 201, 403, 403, 403),
    call: (a, s, p) =>
      a
        .post(
          '/v1/org/invitations',
          { email: `invitee-${p}-${Date.now()}@example.com`, role: 'viewer' },
          s,
        )
        .then(status),
  },
  {
    route: 'GET /v1/org/invitations',
    expected: row(200, 200, 403, 403, 403),
    call: (a, s) => a.get('/v1/org/invitations', s).then(status),
  },
  {
    route: 'DELETE /v1/org (others than the owner; the owner’s is tested in org-deletion)',
    expected: row(0, 403, 403, 403, 403),
    call: async (a, s, p) => (p === 'owner' ? 0 : (await a.delete('/v1/org', s)).status),
  },
]

let stack: Stack
let api: Api
const sessions = {} as Record<Person, string>

beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_PUBLIC_URL: 'https://vault.example.test' } })
  api = client(stack.app)
  const owner = await signup(api)
  sessions.owner = owner.session
  const created = await api.post(
    '/v1/keys',
    { name: 'openai', value: 'sk-proj-matrix', provider: 'openai' },
    owner.session,
  )
  expect(created.status).toBe(201)
  // Live in every environment, so reveals read the sealed value.
  await api.patch(
    '/v1/org',
    { mockDefaults: { development: 'live', staging: 'live' } },
    owner.session,
  )
  for (const person of ['admin', 'developer', 'viewer'] as const) {
    sessions[person] = (await addTeammate(api, owner.session, person)).session
  }
  const granted = await addTeammate(api, owner.session, 'developer')
  sessions.granted = granted.session
  const grant = await api.put(
    `/v1/org/members/${granted.userId}/production-reveal`,
    { granted: true },
    owner.session,
  )
  expect(grant.status).toBe(200)
}, 60_000)
afterAll(() => stack?.close())

describe('role × route × environment', () => {
  it('answers each person as their role allows', async () => {
    const actual: string[] = []
    const wanted: string[] = []
    for (const c of CASES) {
      for (const person of PEOPLE) {
        const label = `${c.route}${c.environment ? ` [${c.environment}]` : ''} as ${person}`
        actual.push(`${label}: ${await c.call(api, sessions[person], person)}`)
        wanted.push(`${label}: ${c.expected[person]}`)
      }
    }
    expect(actual).toEqual(wanted)
  }, 120_000)
})
