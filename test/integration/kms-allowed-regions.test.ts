import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { byokPolicy, createTenantKey, keyIdOf, replicate, tenantKms } from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// The operator allows two regions; tenants name keys and replicas wherever they like.
let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_KMS_ALLOWED_REGIONS: 'us-east-1, eu-west-1' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function multiRegionKey(tenantId: string, primary: string, replicaRegion: string) {
  const policy = byokPolicy(tenantId)
  const arn = await createTenantKey(tenantKms(stack.kms, primary), policy, { MultiRegion: true })
  const replicaArn = await replicate(tenantKms(stack.kms, primary), arn, replicaRegion, policy)
  return { arn, replicaArn }
}

describe('region rules for tenant KMS keys', () => {
  it('refuses a primary key outside the allowed regions, naming both, before calling it', async () => {
    const { session, tenantId } = await signup(api)
    const arn = await createTenantKey(tenantKms(stack.kms, 'us-west-2'), byokPolicy(tenantId))
    stack.kms.calls.reset()
    const res = await api.put('/v1/org/encryption', { provider: 'aws-kms', keyArn: arn }, session)
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(res.body).toMatchObject({
      code: 'kek_invalid',
      reason: 'kek_region_not_allowed',
      region: 'us-west-2',
      allowedRegions: ['us-east-1', 'eu-west-1'],
    })
    expect(res.body.detail).toContain('us-west-2')
    expect(res.body.detail).toContain('us-east-1, eu-west-1')
    expect(stack.kms.calls.count({ keyId: keyIdOf(arn) })).toBe(0)
    expect((await api.get('/v1/org/encryption', session)).body).toMatchObject({
      provider: 'platform',
      kekVersion: 1,
    })
  })

  it('refuses a replica outside them: a tenant cannot widen the list', async () => {
    const { session, tenantId } = await signup(api)
    const { arn, replicaArn } = await multiRegionKey(tenantId, 'us-east-1', 'ap-southeast-2')
    const res = await api.put(
      '/v1/org/encryption',
      { provider: 'aws-kms', keyArn: arn, replicaArns: [replicaArn] },
      session,
    )
    expect(res.status).toBe(422)
    expect(res.body).toMatchObject({ reason: 'kek_region_not_allowed', region: 'ap-southeast-2' })
    expect(res.body.detail).toContain(replicaArn)
    expect(res.body.detail).toContain('us-east-1, eu-west-1')
    expect((await api.get('/v1/org/encryption', session)).body.provider).toBe('platform')
  })

  it('accepts a key and replica within them', async () => {
    const { session, tenantId } = await signup(api)
    const { arn, replicaArn } = await multiRegionKey(tenantId, 'eu-west-1', 'us-east-1')
    const res = await api.put(
      '/v1/org/encryption',
      { provider: 'aws-kms', keyArn: arn, replicaArns: [replicaArn] },
      session,
    )
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ provider: 'aws-kms', keyId: arn, replicaArns: [replicaArn] })
    await stack.deps.reencryption.idle()
  })

  it('by default allows only the server’s own region', async () => {
    const only = stack.anotherInstance({ KEYSTASH_KMS_ALLOWED_REGIONS: '' })
    expect(only.deps.config.kms.allowedRegions).toEqual(['us-east-1'])
    const { session, tenantId } = await signup(client(only.app))
    const arn = await createTenantKey(tenantKms(stack.kms, 'eu-west-1'), byokPolicy(tenantId))
    const res = await client(only.app).put(
      '/v1/org/encryption',
      { provider: 'aws-kms', keyArn: arn },
      session,
    )
    expect(res.status).toBe(422)
    expect(res.body).toMatchObject({ region: 'eu-west-1', allowedRegions: ['us-east-1'] })
  })
})
