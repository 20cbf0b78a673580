import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { buildDeps } from '../../src/deps.ts'
import { valueReadEntrance } from '../../src/reads/entrance.ts'
import { createValueRead } from '../../src/reads/value-read.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

/**
 * The token tree: an access token manages only the tokens below it, and revoking a token stops
 * every token below it on both value-read entrances, at once on the revoking instance and within
 * the staleness bound elsewhere, without a write per descendant.
 */

/** Real time plus an offset the test moves, instead of sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset }
/** The staleness bound: wide enough that warm caches stay warm on a busy machine. */
const BOUND_MS = 5000

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({ clock, env: { KEYSTASH_RECORD_CACHE_MS: String(BOUND_MS) } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

const mintWith = async (
  via: ReturnType<typeof client>,
  parent: string,
  body: Record<string, unknown>,
) =>
  via.post(
    '/v1/tokens',
    { name: 'child', expiresIn: 1800, environment: 'production', ...body },
    parent,
  )

const VALUE = '/v1/keys/openai/value'
/** The route itself: the early entrance declines any query string. */
const ROUTED_VALUE = '/v1/keys/openai/value?version=1'

function fastPathOf(deps: ReturnType<typeof buildDeps>) {
  const fast = valueReadEntrance({ read: createValueRead(deps), logger: deps.logger })
  return (token: string) =>
    fast(
      new Request(`http://localhost${VALUE}`, { headers: { authorization: `Bearer ${token}` } }),
      undefined,
    )
}

describe('who manages which token', () => {
  it('a restricted token neither sees, describes nor revokes a wider one', async () => {
    const { session } = await signup(api)
    const mint = tokenMinter(api, session)
    const wide = await api.post(
      '/v1/tokens',
      { name: 'prod-all', scopes: ['keys:read', 'keys:write', 'tokens:write'], expiresIn: 3600 },
      session,
    )
    // Restricted to no key at all, holding only tokens:write.
    const narrow = await mint({
      name: 'dev-minter',
      scopes: ['tokens:write'],
      keys: [],
      environment: 'development',
    })

    const listed = await api.get('/v1/tokens', narrow)
    expect(listed.status).toBe(200)
    expect(listed.body.items).toEqual([])
    const described = await api.get(`/v1/tokens/${wide.body.id}`, narrow)
    const missing = await api.get('/v1/tokens/tok_00000000000000000000000000', narrow)
    expect(described.status).toBe(404)
    expect({ ...described.body, requestId: null, traceId: null }).toEqual({
      ...missing.body,
      requestId: null,
      traceId: null,
    })
    expect((await api.delete(`/v1/tokens/${wide.body.id}`, narrow)).status).toBe(404)
    // The wide token still works.
    expect((await api.get('/v1/me', wide.body.token)).status).toBe(200)
    expect((await api.get(`/v1/tokens/${wide.body.id}`, session)).body.revokedAt).toBeNull()

    // Its own children it sees and revokes; the session sees every token.
    const child = await mintWith(api, narrow, {
      expiresIn: 1800,
      scopes: ['tokens:write'],
      keys: [],
      environment: 'development',
    })
    expect(child.status).toBe(201)
    expect(child.body.parentId).not.toBeNull()
    const mine = (await api.get('/v1/tokens', narrow)).body.items.map((t: { id: string }) => t.id)
    expect(mine).toEqual([child.body.id])
    expect((await api.get('/v1/tokens', session)).body.items).toHaveLength(3)
    expect((await api.delete(`/v1/tokens/${child.body.id}`, narrow)).status).toBe(204)
  })

  it('logging out does not stop the tokens the session minted', async () => {
    const { session } = await signup(api)
    const token = await tokenMinter(api, session)({ scopes: ['keys:list'] })
    expect((await api.post('/v1/auth/logout', {}, session)).status).toBe(204)
    expect((await api.get('/v1/me', session)).status).toBe(401)
    expect((await api.get('/v1/me', token)).status).toBe(200)
  })
})

describe('revoking cascades down the tree', () => {
  it('stops every descendant on both read paths: at once here, within the bound on another instance', async () => {
    const { session } = await signup(api)
    await api.post('/v1/keys', { name: 'openai', value: 'sk-proj-tree-value' }, session)
    const parent = await mintWith(api, session, {
      name: 'root',
      scopes: ['keys:read', 'tokens:write'],
    })
    // A child may not outlive its parent.
    const child = await mintWith(api, parent.body.token, {
      scopes: ['keys:read', 'tokens:write'],
      expiresIn: 1700,
    })
    const grandchild = await mintWith(api, child.body.token, {
      scopes: ['keys:read'],
      expiresIn: 1600,
    })
    expect([parent.status, child.status, grandchild.status]).toEqual([201, 201, 201])
    const leaf = grandchild.body.token as string
    expect((await api.get('/v1/me', leaf)).body.ancestors).toEqual([parent.body.id, child.body.id])

    const two = stack.anotherInstance()
    const apiTwo = client(two.app)
    const fastOne = fastPathOf(stack.deps)
    const fastTwo = fastPathOf(two.deps)
    // Both paths of both instances serve the leaf.
    for (const [app, fast] of [
      [stack.app, fastOne],
      [two.app, fastTwo],
    ] as const) {
      for (let i = 0; i < 3; i++) expect((await app.request(VALUE, auth(leaf))).status).toBe(200)
      expect((await fast(leaf))?.status).toBe(200)
    }
    expect((await api.get(ROUTED_VALUE, leaf)).status).toBe(200)
    expect((await apiTwo.get(ROUTED_VALUE, leaf)).status).toBe(200)

    const revoked = await api.delete(`/v1/tokens/${parent.body.id}`, session)
    expect(revoked.status).toBe(204)

    // The revoking instance: the early entrance declines and the route refuses, at once.
    expect(await fastOne(leaf)).toBeUndefined()
    const here = await api.get(ROUTED_VALUE, leaf)
    expect([here.status, here.body.code]).toEqual([401, 'token_revoked'])
    expect(here.body.revokedAncestor).toBe(parent.body.id)
    expect((await api.get(VALUE, child.body.token)).status).toBe(401)

    // The other instance, once past the staleness bound.
    clock.offset += BOUND_MS + 1
    expect(await fastTwo(leaf)).toBeUndefined()
    const there = await apiTwo.get(VALUE, leaf)
    expect([there.status, there.body.code]).toEqual([401, 'token_revoked'])
    expect((await apiTwo.get(ROUTED_VALUE, leaf)).status).toBe(401)

    // No descendant was written: their records still say nothing of a revocation.
    const leafRecord = await api.get(`/v1/tokens/${grandchild.body.id}`, session)
    expect(leafRecord.body.revokedAt).toBeNull()

    // The audit trail records what the revocation stopped.
    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?action=token.revoke', session)).body.items
    const event = events.find((e: any) => e.target?.id === parent.body.id)
    expect(event.details.cascadedTo).toBe(2)
  })

  it('never lets a child minted through another instance after the parent’s revocation work', async () => {
    const { session } = await signup(api)
    const parent = await mintWith(api, session, { scopes: ['keys:list', 'tokens:write'] })
    const apiTwo = client(stack.another())
    // The second instance holds the parent's status as valid for the staleness bound.
    expect((await apiTwo.get('/v1/me', parent.body.token)).status).toBe(200)
    expect((await api.delete(`/v1/tokens/${parent.body.id}`, session)).status).toBe(204)

    const minted = await mintWith(apiTwo, parent.body.token, {
      scopes: ['keys:list'],
      expiresIn: 1700,
    })
    expect([minted.status, minted.body.code]).toEqual([401, 'token_revoked'])
    expect(minted.body.token).toBeUndefined()
    // Nothing was stored: the session sees the parent alone.
    const ids = (await api.get('/v1/tokens', session)).body.items.map((t: { id: string }) => t.id)
    expect(ids).toEqual([parent.body.id])
  })

  it('caps the depth of the tree', async () => {
    const { session } = await signup(api)
    let token = (await mintWith(api, session, { scopes: ['tokens:write'] })).body.token as string
    for (let depth = 1; depth <= 8; depth++) {
      const next = await mintWith(api, token, {
        scopes: ['tokens:write'],
        expiresIn: 1800 - depth * 10,
      })
      expect(next.status).toBe(201)
      token = next.body.token
    }
    const tooDeep = await mintWith(api, token, { scopes: ['tokens:write'], expiresIn: 1000 })
    expect([tooDeep.status, tooDeep.body.code]).toEqual([422, 'validation_failed'])
  })
})

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
