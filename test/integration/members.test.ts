import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'
import { addTeammate } from '../support/teams.ts'

let stack: Stack
let api: ReturnType<typeof client>

beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_PUBLIC_URL: 'https://vault.example.test' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

/** An organization with a key, owned by a fresh person. */
async function organization() {
  const owner = await signup(api)
  const created = await api.post(
    '/v1/keys',
    { name: 'openai', value: 'sk-proj-members-test-value', provider: 'openai' },
    owner.session,
  )
  expect(created.status).toBe(201)
  return owner
}

const statusOf = async (path: string, token: string) => (await api.get(path, token)).status

describe('members', () => {
  it('lists each member with role, joined, last sign-in and sign-in method', async () => {
    const owner = await organization()
    const dev = await addTeammate(api, owner.session, 'developer')
    const listed = await api.get('/v1/org/members', owner.session)
    expect(listed.status).toBe(200)
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        userId: owner.userId,
        email: owner.email,
        role: 'owner',
        signInMethod: 'password',
        productionReveal: null,
      }),
      expect.objectContaining({ userId: dev.userId, email: dev.email, role: 'developer' }),
    ])
    for (const member of listed.body.items) {
      expect(Date.parse(member.joinedAt)).toBeGreaterThan(0)
      expect(Date.parse(member.lastSignInAt)).toBeGreaterThan(0)
    }
    // The developer sees the list too, and is a member of two organizations now.
    expect(await statusOf('/v1/org/members', dev.session)).toBe(200)
    const theirs = (await api.get('/v1/auth/organizations', dev.session)).body.items
    expect(theirs.map((o: { role: string; current: boolean }) => [o.role, o.current])).toEqual([
      ['owner', false],
      ['developer', true],
    ])
  })

  it('keeps at least one owner', async () => {
    const owner = await organization()
    const demote = await api.patch(
      `/v1/org/members/${owner.userId}`,
      { role: 'admin' },
      owner.session,
    )
    expect([demote.status, demote.body.code]).toEqual([409, 'last_owner'])
    const leave = await api.delete(`/v1/org/members/${owner.userId}`, owner.session)
    expect([leave.status, leave.body.code]).toEqual([409, 'last_owner'])
    // With a second owner, the first may step down.
    const second = await addTeammate(api, owner.session, 'owner')
    expect(
      (await api.patch(`/v1/org/members/${owner.userId}`, { role: 'admin' }, owner.session)).status,
    ).toBe(200)
    const last = await api.patch(
      `/v1/org/members/${second.userId}`,
      { role: 'viewer' },
      second.session,
    )
    expect([last.status, last.body.code]).toEqual([409, 'last_owner'])
  })

  it('refuses what a role cannot do to another member', async () => {
    const owner = await organization()
    const admin = await addTeammate(api, owner.session, 'admin')
    const dev = await addTeammate(api, owner.session, 'developer')
    const up = await api.patch(`/v1/org/members/${dev.userId}`, { role: 'owner' }, admin.session)
    expect([up.status, up.body.code]).toEqual([403, 'role_forbids'])
    const onOwner = await api.delete(`/v1/org/members/${owner.userId}`, admin.session)
    expect([onOwner.status, onOwner.body.code]).toEqual([403, 'role_forbids'])
    const byDev = await api.patch(
      `/v1/org/members/${admin.userId}`,
      { role: 'viewer' },
      dev.session,
    )
    expect([byDev.status, byDev.body.code]).toEqual([403, 'role_forbids'])
    // An admin manages those below owner.
    expect(
      (await api.patch(`/v1/org/members/${dev.userId}`, { role: 'viewer' }, admin.session)).status,
    ).toBe(200)
    // Another organization's member answers like a missing one.
    const stranger = await signup(api)
    const other = await api.patch(
      `/v1/org/members/${stranger.userId}`,
      { role: 'viewer' },
      owner.session,
    )
    expect([other.status, other.body.code]).toEqual([404, 'not_found'])
    // Access tokens never manage people.
    const token = await tokenMinter(api, owner.session)({ scopes: ['keys:list'] })
    const byToken = await api.get('/v1/org/members', token)
    expect([byToken.status, byToken.body.code]).toEqual([403, 'session_required'])
  })

  it('transfers ownership: the new owner holds every power, the old one is an admin', async () => {
    const owner = await organization()
    const admin = await addTeammate(api, owner.session, 'admin')
    const moved = await api.post('/v1/org/ownership', { userId: admin.userId }, owner.session)
    expect([moved.status, moved.body.member.role]).toEqual([200, 'owner'])
    expect((await api.get('/v1/me', owner.session)).body.role).toBe('admin')
    expect((await api.get('/v1/me', admin.session)).body.role).toBe('owner')
    const rename = await api.patch('/v1/org', { name: 'renamed' }, owner.session)
    expect([rename.status, rename.body.code]).toEqual([403, 'insufficient_scope'])
    expect((await api.patch('/v1/org', { name: 'renamed' }, admin.session)).status).toBe(200)
  })
})

describe('removing a member', () => {
  it('ends their sessions on every instance within the bound, and revokes their tokens', async () => {
    const owner = await organization()
    const dev = await addTeammate(api, owner.session, 'developer')
    const other = client(stack.another())
    const mint = tokenMinter(api, dev.session)
    const token = await mint({ scopes: ['keys:read', 'tokens:write'], environment: 'development' })
    const minted = await api.post(
      '/v1/tokens',
      { name: 'child', scopes: ['keys:read'], environment: 'development', expiresIn: 600 },
      token,
    )
    expect([minted.status, minted.body.code]).toEqual([201, undefined])
    const child = minted.body.token as string
    // Both instances hold the session's status in memory.
    expect(await statusOf('/v1/keys', dev.session)).toBe(200)
    expect((await other.get('/v1/keys', dev.session)).status).toBe(200)
    const read = await api.get('/v1/keys/openai/value', child)
    expect([read.status, read.body]).toEqual([200, expect.anything()])

    const removed = await api.delete(`/v1/org/members/${dev.userId}`, owner.session)
    const at = Date.now()
    expect(removed.status).toBe(204)
    // At once on the instance that removed them.
    const here = await api.get('/v1/keys', dev.session)
    // The membership is gone and the session revoked: whichever is seen first refuses it.
    expect(here.status).toBe(401)
    expect(['invalid_token', 'token_revoked']).toContain(here.body.code)
    // Within the record cache's bound (1 s) on the other.
    let there = 200
    while (there !== 401 && Date.now() - at < 3000) {
      there = (await other.get('/v1/keys', dev.session)).status
      if (there !== 401) await new Promise((resolve) => setImmediate(resolve))
    }
    expect(there).toBe(401)
    expect(Date.now() - at).toBeLessThan(3000)
    // Their token and the tree below it are revoked.
    expect((await api.get('/v1/keys/openai/value', token)).body.code).toBe('token_revoked')
    expect((await api.get('/v1/keys/openai/value', child)).body.code).toBe('token_revoked')
    // Their own organization is untouched.
    expect(await statusOf('/v1/keys', dev.home)).toBe(200)
    // The event says what was done.
    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=member.remove', owner.session)).body.items
    expect(events[0]).toMatchObject({
      actor: { id: owner.userId },
      target: { type: 'user', id: dev.userId },
      details: { keepTokens: false, tokensRevoked: 2, sessionsEnded: 1, role: 'developer' },
    })
  })

  it('keeps the tokens they minted when asked to, and says so', async () => {
    const owner = await organization()
    const dev = await addTeammate(api, owner.session, 'developer')
    const token = await tokenMinter(
      api,
      dev.session,
    )({
      scopes: ['keys:read'],
      environment: 'staging',
    })
    expect(
      (await api.delete(`/v1/org/members/${dev.userId}?keepTokens=true`, owner.session)).status,
    ).toBe(204)
    expect(await statusOf('/v1/keys/openai/value', token)).toBe(200)
    expect(await statusOf('/v1/keys', dev.session)).toBe(401)
    await stack.deps.audit.flush()
    const [event] = (await api.get('/v1/audit?action=member.remove', owner.session)).body.items
    expect(event.details).toMatchObject({ keepTokens: true, tokensRevoked: 0 })
  })

  it('lets a member leave, and not come back through an old session', async () => {
    const owner = await organization()
    const viewer = await addTeammate(api, owner.session, 'viewer')
    expect((await api.delete(`/v1/org/members/${viewer.userId}`, viewer.session)).status).toBe(204)
    expect(await statusOf('/v1/keys', viewer.session)).toBe(401)
    const login = await api.post('/v1/auth/login', {
      email: viewer.email,
      password: viewer.password,
    })
    const session = login.body.session.token as string
    expect((await api.get('/v1/me', session)).body.tenantId).not.toBe(owner.tenantId)
    const back = await api.post('/v1/auth/switch', { organization: owner.tenantId }, session)
    expect([back.status, back.body.code]).toEqual([404, 'not_found'])
  })
})

describe('roles and the tokens members minted', () => {
  it('narrows a demoted member’s tokens, and revokes those left with nothing', async () => {
    const owner = await organization()
    const admin = await addTeammate(api, owner.session, 'admin')
    const mint = tokenMinter(api, admin.session)
    const production = await mint({ scopes: ['keys:read', 'keys:list', 'mock:write'] })
    const development = await mint({ scopes: ['keys:read'], environment: 'development' })
    const viewOnly = await mint({ scopes: ['keys:list'] })
    expect(await statusOf('/v1/keys/openai/value', production)).toBe(200)

    const demoted = await api.patch(
      `/v1/org/members/${admin.userId}`,
      { role: 'developer' },
      owner.session,
    )
    expect(demoted.body.tokens).toEqual({ narrowed: 1, revoked: 0 })
    // The production token no longer reveals (no grant) nor changes mock settings; the rest stays.
    const read = await api.get('/v1/keys/openai/value', production)
    expect([read.status, read.body.code]).toEqual([403, 'insufficient_scope'])
    expect(await statusOf('/v1/keys', production)).toBe(200)
    expect((await api.get('/v1/me', production)).body.scopes).toEqual(['keys:list'])
    expect(await statusOf('/v1/keys/openai/value', development)).toBe(200)
    // It mints nothing wider than it now holds.
    const wider = await api.post(
      '/v1/tokens',
      { name: 'x', scopes: ['keys:read'], expiresIn: 60, environment: 'production' },
      production,
    )
    expect(wider.status).toBe(403)

    const toViewer = await api.patch(
      `/v1/org/members/${admin.userId}`,
      { role: 'viewer' },
      owner.session,
    )
    expect(toViewer.body.tokens).toEqual({ narrowed: 0, revoked: 1 })
    expect((await api.get('/v1/keys/openai/value', development)).body.code).toBe('token_revoked')
    expect(await statusOf('/v1/keys', viewOnly)).toBe(200)
    await stack.deps.audit.flush()
    const changes = (await api.get('/v1/audit?action=member.role.change', owner.session)).body.items
    expect(changes.map((e: { details: { to: string } }) => e.details.to).sort()).toEqual([
      'developer',
      'viewer',
    ])
    expect(
      changes.find((e: { details: { to: string } }) => e.details.to === 'viewer').details,
    ).toMatchObject({ from: 'developer', tokensRevoked: 1, tokensNarrowed: 0 })
  })

  it('lets a developer reveal production only with an owner’s grant', async () => {
    const owner = await organization()
    const dev = await addTeammate(api, owner.session, 'developer')
    const refused = await api.get('/v1/keys/openai/value', dev.session)
    expect([refused.status, refused.body.code]).toEqual([403, 'role_forbids'])
    const mint = tokenMinter(api, dev.session)
    const early = await api.post(
      '/v1/tokens',
      { name: 'p', scopes: ['keys:read'], expiresIn: 600, environment: 'production' },
      dev.session,
    )
    expect([early.status, early.body.code]).toEqual([403, 'scope_escalation'])

    const byAdmin = await addTeammate(api, owner.session, 'admin')
    const notOwner = await api.put(
      `/v1/org/members/${dev.userId}/production-reveal`,
      { granted: true },
      byAdmin.session,
    )
    expect([notOwner.status, notOwner.body.code]).toEqual([403, 'role_forbids'])
    const granted = await api.put(
      `/v1/org/members/${dev.userId}/production-reveal`,
      { granted: true },
      owner.session,
    )
    expect(granted.body.member.productionReveal.grantedBy).toBe(owner.userId)
    expect((await api.get('/v1/keys/openai/value', dev.session)).body.value).toBe(
      'sk-proj-members-test-value',
    )
    const production = await mint({ scopes: ['keys:read', 'keys:list'] })
    expect(await statusOf('/v1/keys/openai/value', production)).toBe(200)

    const withdrawn = await api.put(
      `/v1/org/members/${dev.userId}/production-reveal`,
      { granted: false },
      owner.session,
    )
    expect(withdrawn.body.tokens).toEqual({ narrowed: 1, revoked: 0 })
    expect(await statusOf('/v1/keys/openai/value', dev.session)).toBe(403)
    expect(await statusOf('/v1/keys/openai/value', production)).toBe(403)
  })
})

describe('deleting an organization', () => {
  it('removes the people who belong to no other organization, freeing their e-mail', async () => {
    const owner = await organization()
    const dev = await addTeammate(api, owner.session, 'developer')
    expect((await api.delete('/v1/org', owner.session)).status).toBe(204)
    // The owner had no other organization: gone, and the address can sign up again.
    const login = await api.post('/v1/auth/login', { email: owner.email, password: owner.password })
    expect([login.status, login.body.code]).toEqual([401, 'invalid_credentials'])
    const again = await api.post('/v1/auth/signup', {
      email: owner.email,
      password: 'another correct horse battery',
    })
    expect(again.status).toBe(201)
    // The developer keeps their own organization, and only that one.
    const back = await api.post('/v1/auth/login', { email: dev.email, password: dev.password })
    expect(back.status).toBe(200)
    const theirs = (await api.get('/v1/auth/organizations', back.body.session.token)).body.items
    expect(theirs.map((o: { role: string }) => o.role)).toEqual(['owner'])
  })
})
