import {
  CancelKeyDeletionCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
let session: string
let reader: string
const PLATFORM = 'alias/keystash-platform'

beforeAll(async () => {
  // Data keys are never cached here, so every read goes to KMS.
  stack = await startStack({
    env: { KEYSTASH_DEK_CACHE_TTL_SECONDS: '0', KEYSTASH_RECORD_CACHE_MS: '0' },
  })
  api = client(stack.app)
  ;({ session } = await signup(api))
  reader = (
    await api.post('/v1/tokens', { name: 'r', scopes: ['keys:read'], expiresIn: 3600 }, session)
  ).body.token
  await api.post('/v1/keys', { name: 'k', value: 'the-value' }, session)
})
afterAll(() => stack?.close())

const snapshot = async () =>
  JSON.stringify(
    (
      (await stack.table.doc.send(new ScanCommand({ TableName: stack.table.tableName }))).Items ??
      []
    )
      .filter((i) => String(i.sk).startsWith('KEY'))
      .map(({ lastUsedAt: _, ...rest }) => rest)
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk))),
  )

async function expectFailure(code: string, status = 503) {
  // A successful read before this one may still be writing its lastUsedAt: DynamoDB Local then
  // hands the rewritten item back with its attributes in another order.
  await stack.deps.lastUsed.settled()
  const before = await snapshot()
  const read = await api.get('/v1/keys/k/value', reader)
  expect([read.status, read.body.code]).toEqual([status, code])
  expect(read.headers.get('content-type')).toBe('application/problem+json')
  expect(JSON.stringify(read.body)).not.toContain('the-value')
  expect(JSON.stringify(read.body)).not.toMatch(/arn:aws:kms/)
  const write = await api.put('/v1/keys/k/value', { value: 'never-stored' }, session)
  expect([write.status, write.body.code]).toEqual([status, code])
  const create = await api.post('/v1/keys', { name: `new-${code}`, value: 'never-stored' }, session)
  expect([create.status, create.body.code]).toEqual([status, code])
  await stack.deps.lastUsed.settled()
  expect(await snapshot()).toBe(before)
  return read
}

async function expectWorking() {
  const read = await api.get('/v1/keys/k/value', reader)
  expect([read.status, read.body.value]).toEqual([200, 'the-value'])
}

describe('KMS failures', () => {
  it('a disabled key: kek_disabled, nothing stored or changed; works again once enabled', async () => {
    await stack.aws.kms.send(new DisableKeyCommand({ KeyId: await keyId() }))
    await expectFailure('kek_disabled')
    await stack.aws.kms.send(new EnableKeyCommand({ KeyId: await keyId() }))
    await expectWorking()
  })

  it('access removed from the key policy: kek_access_denied; restored with the policy', async () => {
    const KeyId = await keyId()
    const { Policy } = await stack.aws.kms.send(
      new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }),
    )
    // The key's administrator keeps access; the server's credentials lose it.
    const admin = new KMSClient({
      region: 'us-east-1',
      endpoint: stack.kms.url,
      credentials: { accessKeyId: 'kmsadmin', secretAccessKey: 'x' },
    })
    const adminOnly = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'kmsadmin' }, Action: 'kms:*', Resource: '*' },
      ],
    }
    await admin.send(
      new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy: JSON.stringify(adminOnly) }),
    )
    await expectFailure('kek_access_denied')
    await admin.send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy }))
    await expectWorking()
  })

  it('a key pending deletion: kek_pending_deletion; back after cancelling', async () => {
    const KeyId = await keyId()
    await stack.aws.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }))
    await expectFailure('kek_pending_deletion')
    await stack.aws.kms.send(new CancelKeyDeletionCommand({ KeyId }))
    await stack.aws.kms.send(new EnableKeyCommand({ KeyId }))
    await expectWorking()
  })

  it('throttling: kms_throttled with Retry-After', async () => {
    stack.kms.faults.throttle()
    try {
      const read = await expectFailure('kms_throttled')
      expect(Number(read.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      stack.kms.faults.clear()
    }
    await expectWorking()
  })

  it('KMS unreachable: kms_unavailable', async () => {
    await stack.kms.faults.refuseConnections()
    try {
      await expectFailure('kms_unavailable')
    } finally {
      await stack.kms.faults.acceptConnections()
    }
    await expectWorking()
  })
})

describe('the data-key cache on the read path', () => {
  it('makes exactly one KMS Decrypt for 100 concurrent cold reads, and none when warm', async () => {
    const cached = client(
      stack.another({ KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_DEK_CACHE_TTL_SECONDS: '300' }),
    )
    // The new instance's signing keys and status are loaded before counting.
    expect((await cached.get('/v1/me', reader)).status).toBe(200)
    stack.kms.calls.reset()
    const cold = await Promise.all(
      Array.from({ length: 100 }, () => cached.get('/v1/keys/k/value', reader)),
    )
    expect(cold.every((r) => r.status === 200 && r.body.value === 'the-value')).toBe(true)
    expect(stack.kms.calls.count({ operation: 'Decrypt' })).toBe(1)
    stack.kms.calls.reset()
    const warm = await Promise.all(
      Array.from({ length: 100 }, () => cached.get('/v1/keys/k/value', reader)),
    )
    expect(warm.every((r) => r.status === 200)).toBe(true)
    expect(stack.kms.calls.length).toBe(0)
  })
})

async function keyId(): Promise<string> {
  const { DescribeKeyCommand } = await import('@aws-sdk/client-kms')
  const { KeyMetadata } = await stack.aws.kms.send(new DescribeKeyCommand({ KeyId: PLATFORM }))
  return KeyMetadata?.KeyId ?? ''
}
