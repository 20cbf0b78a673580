import {
  CancelKeyDeletionCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  adminOnlyPolicy,
  byokPolicy,
  createTenantKey,
  setPolicy,
  tenantKms,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// The tenant lowers its data-key cache TTL to 2 s, so revocation reaches reads quickly.
const TTL = 2

let stack: Stack
let api: ReturnType<typeof client>
let tenant: KMSClient
beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_RECORD_CACHE_MS: '0' } })
  api = client(stack.app)
  tenant = tenantKms(stack.kms)
})
afterAll(() => stack?.close())

const read = (session: string) => api.get('/v1/keys/k/value', session)

async function tenantWithOwnKey() {
  const { session, tenantId } = await signup(api)
  const arn = await createTenantKey(tenant, byokPolicy(tenantId))
  const res = await api.put(
    '/v1/org/encryption',
    { provider: 'aws-kms', keyArn: arn, dataKeyCacheTtlSeconds: TTL },
    session,
  )
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  expect(res.body.dataKeyCacheTtlSeconds).toBe(TTL)
  expect((await api.post('/v1/keys', { name: 'k', value: 'secret-value' }, session)).status).toBe(
    201,
  )
  await stack.deps.reencryption.idle()
  // Caches the data key: from here on, reads outlive a revocation by up to the TTL.
  expect((await read(session)).body.value).toBe('secret-value')
  return { session, tenantId, arn }
}

/** Polls until the cached data key has expired and the read fails (at most a few TTLs). */
async function failingRead(session: string) {
  const deadline = Date.now() + TTL * 4000
  for (;;) {
    const res = await read(session)
    if (res.status !== 200 || Date.now() > deadline) return res
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function expectProblem(res: Awaited<ReturnType<typeof read>>, code: string, advice: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(503)
  expect(res.headers.get('content-type')).toContain('application/problem+json')
  expect(res.body.code).toBe(code)
  expect(res.body.detail).toMatch(advice)
  expect(res.body.detail).toContain(`up to ${TTL} s`)
  expect(res.body.dataKeyCacheTtlSeconds).toBe(TTL)
}

describe('when a tenant revokes its own key', () => {
  it('removing Keystash from the key policy: kek_access_denied once the cache expires, then back', async () => {
    const { session, tenantId, arn } = await tenantWithOwnKey()
    await setPolicy(tenant, arn, adminOnlyPolicy())
    expect((await read(session)).body.value).toBe('secret-value')
    // Writes make a new data key every time, so they fail at once.
    const write = await api.put('/v1/keys/k/value', { value: 'v2' }, session)
    expectProblem(write, 'kek_access_denied', /key policy/)
    expectProblem(await failingRead(session), 'kek_access_denied', /no data is lost/)
    await setPolicy(tenant, arn, byokPolicy(tenantId))
    expect((await read(session)).body.value).toBe('secret-value')
    expect((await api.put('/v1/keys/k/value', { value: 'v2' }, session)).status).toBe(200)
  })

  it('disabling the key: kek_disabled, then back once enabled', async () => {
    const { session, arn } = await tenantWithOwnKey()
    await tenant.send(new DisableKeyCommand({ KeyId: arn }))
    expectProblem(await failingRead(session), 'kek_disabled', /Enable it/)
    await tenant.send(new EnableKeyCommand({ KeyId: arn }))
    expect((await read(session)).body.value).toBe('secret-value')
  })

  it('scheduling deletion: kek_pending_deletion, then back once cancelled and enabled', async () => {
    const { session, arn } = await tenantWithOwnKey()
    await tenant.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }))
    expectProblem(await failingRead(session), 'kek_pending_deletion', /lost for good/)
    await tenant.send(new CancelKeyDeletionCommand({ KeyId: arn }))
    await tenant.send(new EnableKeyCommand({ KeyId: arn }))
    expect((await read(session)).body.value).toBe('secret-value')
  })

  it('says nothing of the key to another tenant, whose reads go on', async () => {
    const owner = await tenantWithOwnKey()
    const other = await signup(api)
    await api.post('/v1/keys', { name: 'k', value: 'other-value' }, other.session)
    await setPolicy(tenant, owner.arn, adminOnlyPolicy())
    const failed = await failingRead(owner.session)
    expect(failed.body.code).toBe('kek_access_denied')
    expect(JSON.stringify(failed.body)).not.toContain('arn:aws:iam')
    expect((await read(other.session)).body.value).toBe('other-value')
  })
})
