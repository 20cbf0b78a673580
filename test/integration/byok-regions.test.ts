import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  adminOnlyPolicy,
  byokPolicy,
  createTenantKey,
  keyIdOf,
  replicate,
  setPolicy,
  tenantKms,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// The tenant's key lives in us-west-2 with a replica in eu-west-1; the server runs in
// us-east-1, so faults scoped to us-west-2 touch nothing else (the platform key included).
const PRIMARY = 'us-west-2'
const REPLICA = 'eu-west-1'

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({
    env: { KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_KMS_ALLOWED_REGIONS: `${PRIMARY},${REPLICA}` },
  })
  api = client(stack.app)
})
afterAll(() => stack?.close())
afterEach(() => stack.kms.faults.clear())

async function tenantWith(options: { replica: boolean }) {
  const { session, tenantId } = await signup(api)
  const tenant = tenantKms(stack.kms, PRIMARY)
  const policy = byokPolicy(tenantId)
  const primary = await createTenantKey(tenant, policy, { MultiRegion: options.replica })
  const replicaArns = options.replica ? [await replicate(tenant, primary, REPLICA, policy)] : []
  const res = await api.put(
    '/v1/org/encryption',
    { provider: 'aws-kms', keyArn: primary, replicaArns },
    session,
  )
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  expect(res.body.replicaArns).toEqual(replicaArns)
  expect((await api.post('/v1/keys', { name: 'k', value: 'regional' }, session)).status).toBe(201)
  await stack.deps.reencryption.idle()
  stack.deps.dekCache.clear()
  return { session, tenantId, tenant, primary, replicaArns }
}

describe('a regional outage of the tenant’s key', () => {
  it('is ridden out through the replica: reads and writes keep working', async () => {
    const { session, primary, replicaArns } = await tenantWith({ replica: true })
    stack.kms.faults.internalError({ region: PRIMARY })
    stack.kms.calls.reset()
    const res = await api.get('/v1/keys/k/value', session)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.value).toBe('regional')
    expect(stack.kms.calls.count({ operation: 'Decrypt', region: REPLICA, outcome: 'ok' })).toBe(1)
    expect(replicaArns[0]).toContain(keyIdOf(primary))

    stack.kms.faults.clear()
    stack.kms.faults.throttle({ region: PRIMARY })
    expect(
      (await api.put('/v1/keys/k/value', { value: 'written-in-replica' }, session)).status,
    ).toBe(200)
    expect(
      stack.kms.calls.count({ operation: 'GenerateDataKey', region: REPLICA, outcome: 'ok' }),
    ).toBe(1)

    // Once the region is back, what the replica sealed opens in the primary region too.
    stack.kms.faults.clear()
    stack.deps.dekCache.clear()
    stack.kms.calls.reset()
    expect((await api.get('/v1/keys/k/value', session)).body.value).toBe('written-in-replica')
    expect(stack.kms.calls.count({ operation: 'Decrypt', region: PRIMARY, outcome: 'ok' })).toBe(1)
  })

  it('is a clear kms_unavailable without a replica', async () => {
    const { session } = await tenantWith({ replica: false })
    stack.kms.faults.internalError({ region: PRIMARY })
    const res = await api.get('/v1/keys/k/value', session)
    expect(res.status).toBe(503)
    expect(res.body.code).toBe('kms_unavailable')
    expect(res.body.detail).toMatch(/replica/)
    expect(res.headers.get('retry-after')).toBeTruthy()
  })

  it('is not confused with a refusal: access denied in the primary is not retried elsewhere', async () => {
    const { session, tenant, primary } = await tenantWith({ replica: true })
    await setPolicy(tenant, primary, adminOnlyPolicy())
    stack.kms.calls.reset()
    const res = await api.get('/v1/keys/k/value', session)
    expect(res.body.code).toBe('kek_access_denied')
    expect(stack.kms.calls.count({ region: REPLICA })).toBe(0)
  })
})
