import {
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  byokPolicy,
  createTenantKey,
  PLATFORM_ROOT,
  rawMaterial,
  replicate,
  setPolicy,
  TENANT_ADMIN,
  tenantKms,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { rejectionOf } from './kms-local-helpers.ts'

const clock = { offset: 0, now: () => Date.now() + clock.offset }
const DAY = 86_400_000

let stack: Stack
let api: ReturnType<typeof client>
let tenant: KMSClient
beforeAll(async () => {
  stack = await startStack({ clock })
  api = client(stack.app)
  tenant = tenantKms(stack.kms)
})
afterAll(() => stack?.close())

/** docs/byok.md's policy, plus the optional statement that lets Keystash read rotation status. */
function policyWithRotationStatus(tenantId: string) {
  const doc = JSON.parse(byokPolicy(tenantId))
  doc.Statement.push({
    Sid: 'KeystashRotationStatus',
    Effect: 'Allow',
    Principal: { AWS: PLATFORM_ROOT },
    Action: 'kms:GetKeyRotationStatus',
    Resource: '*',
  })
  return JSON.stringify(doc)
}

describe('the local KMS answers key rotation calls like AWS KMS', () => {
  it('reports, enables and disables rotation; replicas share the primary’s', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: TENANT_ADMIN }, Action: 'kms:*', Resource: '*' },
      ],
    })
    const arn = await createTenantKey(tenant, policy, { MultiRegion: true })
    const status = () => tenant.send(new GetKeyRotationStatusCommand({ KeyId: arn }))
    expect(await status()).toMatchObject({ KeyRotationEnabled: false, KeyId: arn })

    await tenant.send(new EnableKeyRotationCommand({ KeyId: arn, RotationPeriodInDays: 180 }))
    const enabled = await status()
    expect(enabled).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 180 })
    const next = enabled.NextRotationDate?.getTime() ?? 0
    expect(Math.abs(next - (Date.now() + 180 * DAY))).toBeLessThan(60_000)

    const replicaArn = await replicate(tenant, arn, 'eu-west-1', policy)
    const replicaClient = tenantKms(stack.kms, 'eu-west-1')
    expect(
      await replicaClient.send(new GetKeyRotationStatusCommand({ KeyId: replicaArn })),
    ).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 180 })
    const onReplica = await rejectionOf(
      replicaClient.send(new EnableKeyRotationCommand({ KeyId: replicaArn })),
    )
    expect(onReplica.name).toBe('UnsupportedOperationException')

    const outOfRange = await rejectionOf(
      tenant.send(new EnableKeyRotationCommand({ KeyId: arn, RotationPeriodInDays: 30 })),
    )
    expect(outOfRange.name).toBe('ValidationException')
    await tenant.send(new DisableKeyRotationCommand({ KeyId: arn }))
    expect(await status()).toMatchObject({ KeyRotationEnabled: false })
  })

  it('refuses GetKeyRotationStatus with AccessDenied when the key policy does not grant it', async () => {
    const { tenantId } = await signup(api)
    const arn = await createTenantKey(tenant, byokPolicy(tenantId))
    const denied = await rejectionOf(
      stack.aws.kms.send(new GetKeyRotationStatusCommand({ KeyId: arn })),
    )
    expect(denied.name).toBe('AccessDeniedException')
  })
})

describe('the encryption view', () => {
  it('shows an AWS KMS key’s rotation, and unknown (not an error) when the policy denies it', async () => {
    const { session, tenantId } = await signup(api)
    const arn = await createTenantKey(tenant, byokPolicy(tenantId))
    const put = await api.put('/v1/org/encryption', { provider: 'aws-kms', keyArn: arn }, session)
    expect(put.status).toBe(200)
    expect(put.body.kekRotation).toMatchObject({
      automatic: 'unknown',
      unknownBecause: 'kek_access_denied',
      replaceMaterialBy: null,
      materialRotationDue: false,
    })

    await setPolicy(tenant, arn, policyWithRotationStatus(tenantId))
    expect((await api.get('/v1/org/encryption', session)).body.kekRotation).toMatchObject({
      automatic: 'disabled',
      rotationPeriodInDays: null,
      unknownBecause: null,
    })
    await tenant.send(new EnableKeyRotationCommand({ KeyId: arn, RotationPeriodInDays: 90 }))
    const view = (await api.get('/v1/org/encryption', session)).body
    expect(view.kekRotation).toMatchObject({ automatic: 'enabled', rotationPeriodInDays: 90 })
    expect(Date.parse(view.kekRotation.nextRotationAt)).toBeGreaterThan(Date.now() + 89 * DAY)
    await stack.deps.reencryption.idle()
  })

  it('tells a raw key’s owner when to supply new material, and reminds them once', async () => {
    const account = await signup(api)
    const material = rawMaterial()
    const put = await api.put('/v1/org/encryption', { provider: 'raw', material }, account.session)
    expect(put.status).toBe(200)
    const setAt = Date.parse(put.body.createdAt)
    expect(put.body.kekRotation).toMatchObject({ automatic: null, materialRotationDue: false })
    expect(Date.parse(put.body.kekRotation.replaceMaterialBy) - setAt).toBe(365 * DAY)
    await stack.deps.reencryption.idle()

    // 30 days before the end of the period, the view says so.
    clock.offset = 336 * DAY
    const login = await api.post('/v1/auth/login', {
      email: account.email,
      password: account.password,
    })
    const session = login.body.session.token as string
    const later = (await api.get('/v1/org/encryption', session)).body
    expect(later.kekRotation).toMatchObject({ materialRotationDue: true })

    // And once, as an event, however many instances tick at that moment.
    const second = stack.anotherInstance()
    const sent = await Promise.all([
      stack.deps.rawReminders.remindDue(),
      second.deps.rawReminders.remindDue(),
    ])
    expect(sent[0] + sent[1]).toBe(1)
    expect(await stack.deps.rawReminders.remindDue()).toBe(0)
    // Either instance may be the one that sent it: both write out what they buffered.
    await Promise.all([stack.deps.audit.flush(), second.deps.audit.flush()])
    const events = (await api.get('/v1/audit?action=encryption.rotation_due', session)).body.items
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      actor: { type: 'system' },
      details: { kekVersion: 2, replaceBy: put.body.kekRotation.replaceMaterialBy },
    })
    expect(JSON.stringify(events)).not.toContain(material)
    clock.offset = 0
  })
})
