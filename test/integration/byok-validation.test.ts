import { DisableKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  adminOnlyPolicy,
  byokPolicy,
  createTenantKey,
  PLATFORM_ROOT,
  rawMaterial,
  TENANT_ACCOUNT,
  tenantKms,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
let tenant: KMSClient
beforeAll(async () => {
  stack = await startStack({ env: { KEYSTASH_RECORD_CACHE_MS: '0' } })
  api = client(stack.app)
  tenant = tenantKms(stack.kms)
})
afterAll(() => stack?.close())

/** Refused with a reason, and nothing changed: still the platform key, no version added. */
async function expectRefused(session: string, body: object, reason: string) {
  const res = await api.put('/v1/org/encryption', body, session)
  expect(res.status, JSON.stringify(res.body)).toBe(422)
  expect(res.body).toMatchObject({ code: 'kek_invalid', reason })
  const view = (await api.get('/v1/org/encryption', session)).body
  expect(view).toMatchObject({ provider: 'platform', kekVersion: 1, job: null })
  expect(view.versions).toHaveLength(1)
  return res.body
}

describe('validating a new KEK before anything changes', () => {
  it('refuses a key that is not a symmetric encryption key', async () => {
    const { session, tenantId } = await signup(api)
    const rsa = await createTenantKey(tenant, byokPolicy(tenantId), {
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
    })
    const body = await expectRefused(session, { provider: 'aws-kms', keyArn: rsa }, 'kek_invalid')
    expect(body.detail).toContain('SYMMETRIC_DEFAULT')
  })

  it('refuses a disabled key', async () => {
    const { session, tenantId } = await signup(api)
    const arn = await createTenantKey(tenant, byokPolicy(tenantId))
    await tenant.send(new DisableKeyCommand({ KeyId: arn }))
    await expectRefused(session, { provider: 'aws-kms', keyArn: arn }, 'kek_disabled')
  })

  it('refuses a key Keystash may not use, or may use only for another tenant', async () => {
    const { session } = await signup(api)
    const closed = await createTenantKey(tenant, adminOnlyPolicy())
    const body = await expectRefused(
      session,
      { provider: 'aws-kms', keyArn: closed },
      'kek_access_denied',
    )
    expect(body.step).toBe('DescribeKey')
    // Allowed for another tenant's id only: the encryption-context condition does its job.
    const other = await createTenantKey(tenant, byokPolicy('org_someoneelse'))
    const denied = await expectRefused(
      session,
      { provider: 'aws-kms', keyArn: other },
      'kek_access_denied',
    )
    expect(denied.step).toBe('GenerateDataKey')
    expect(denied.detail).not.toContain('arn:aws:iam')
    const missing = `arn:aws:kms:us-east-1:${TENANT_ACCOUNT}:key/00000000-0000-0000-0000-000000000000`
    await expectRefused(session, { provider: 'aws-kms', keyArn: missing }, 'kek_not_found')
  })

  it('refuses raw material of the wrong length, not base64, or trivially weak', async () => {
    const { session } = await signup(api)
    const cases = [
      Buffer.alloc(31, 7).toString('base64'),
      Buffer.from(rawMaterial(), 'base64').subarray(0, 16).toString('base64'),
      Buffer.concat([Buffer.from(rawMaterial(), 'base64'), Buffer.of(1)]).toString('base64'),
      `${rawMaterial().slice(0, -2)}!=`,
      Buffer.alloc(32).toString('base64'),
      Buffer.alloc(32, 0xab).toString('base64'),
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64'),
      Buffer.from(Array.from({ length: 32 }, (_, i) => i % 4)).toString('base64'),
    ]
    for (const material of cases) {
      const body = await expectRefused(
        session,
        { provider: 'raw', material },
        'raw_material_invalid',
      )
      expect(body.detail).not.toContain(material)
    }
    const good = await api.put(
      '/v1/org/encryption',
      { provider: 'raw', material: rawMaterial() },
      session,
    )
    expect(good.status).toBe(200)
  })

  it('never logs or returns raw material', async () => {
    const { session } = await signup(api)
    const material = rawMaterial()
    const res = await api.put('/v1/org/encryption', { provider: 'raw', material }, session)
    expect(res.status).toBe(200)
    expect(JSON.stringify(res.body)).not.toContain(material)
    expect(JSON.stringify((await api.get('/v1/org/encryption', session)).body)).not.toContain(
      material,
    )
    await stack.deps.reencryption.idle()
    expect(stack.logs.text()).not.toContain(material)
  })
})

describe('a role in the tenant’s account', () => {
  const roleArn = `arn:aws:iam::${TENANT_ACCOUNT}:role/keystash-access`

  it('is assumed with the external id Keystash set for the tenant, and only with it', async () => {
    const { session, tenantId } = await signup(api)
    const view = (await api.get('/v1/org/encryption', session)).body
    expect(view.externalId).toBe(`keystash-${tenantId}`)
    stack.kms.roles.register({
      roleArn,
      externalId: view.externalId,
      allowedCallers: [PLATFORM_ROOT],
    })
    const arn = await createTenantKey(tenant, byokPolicy(tenantId, [roleArn]))
    const res = await api.put(
      '/v1/org/encryption',
      { provider: 'aws-kms', keyArn: arn, roleArn },
      session,
    )
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ roleArn, externalId: `keystash-${tenantId}` })
    expect(stack.kms.calls.count({ operation: 'AssumeRole', outcome: 'ok' })).toBeGreaterThan(0)
    stack.kms.calls.reset()
    expect(
      (await api.post('/v1/keys', { name: 'k', value: 'through-a-role' }, session)).status,
    ).toBe(201)
    stack.deps.dekCache.clear()
    expect((await api.get('/v1/keys/k/value', session)).body.value).toBe('through-a-role')
    const decrypt = stack.kms.calls.last({ operation: 'Decrypt', keyId: arn })
    expect(decrypt?.caller).toMatch(/^ASIA/)
    // The role's session is reused until shortly before it expires.
    expect(stack.kms.calls.count({ operation: 'AssumeRole' })).toBe(0)

    // A role that trusts another external id (another tenant's, say) cannot be used.
    const { session: second, tenantId: secondTenant } = await signup(api)
    const otherKey = await createTenantKey(tenant, byokPolicy(secondTenant, [roleArn]))
    const refused = await expectRefused(
      second,
      { provider: 'aws-kms', keyArn: otherKey, roleArn },
      'kek_access_denied',
    )
    expect(refused.detail).toContain('DescribeKey')
  })
})
