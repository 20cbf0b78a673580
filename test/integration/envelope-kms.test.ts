import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDekCache } from '../../src/crypto/dek-cache.ts'
import { openValue, sealValue, type UnwrapDataKey, unwrapWith } from '../../src/crypto/envelope.ts'
import { AppError } from '../../src/errors.ts'
import { createAwsKmsProvider, KMS_CONTEXT_TENANT } from '../../src/kms/aws-kms.ts'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'

/** Seal and open through the real @aws-sdk/client-kms, against the local KMS. */
describe('envelope encryption through AWS KMS (local)', () => {
  let kms: LocalKms
  let client: KMSClient
  const place = { tenantId: 'org_a', keyId: 'key_1', version: 1 }
  const account = '111122223333'

  beforeAll(async () => {
    kms = await startLocalKms()
    client = new KMSClient({
      endpoint: kms.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAKEYSTASHTEST', secretAccessKey: 'not-a-secret' },
      maxAttempts: 1,
    })
  })
  afterAll(async () => {
    client?.destroy()
    await kms?.close()
  })

  async function createKey(policy?: object) {
    const { KeyMetadata } = await client.send(
      new CreateKeyCommand({ Policy: policy && JSON.stringify(policy) }),
    )
    const arn = KeyMetadata?.Arn as string
    return createAwsKmsProvider({
      client,
      keyId: arn,
      kek: { provider: 'aws-kms', keyId: arn, version: 1 },
    })
  }

  async function failure(promise: Promise<unknown>): Promise<AppError> {
    const error = await promise.then(
      () => expect.unreachable('expected a failure'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AppError)
    return error as AppError
  }

  it('round-trips a value, with one GenerateDataKey and one Decrypt', async () => {
    const provider = await createKey()
    const plaintext = Buffer.from('sk-live-🔑-through-kms')
    const record = await sealValue({ provider, plaintext, ...place })
    expect(record.kek).toEqual(provider.kek)
    const opened = await openValue({ record, unwrap: unwrapWith(provider), ...place })
    expect(opened.equals(plaintext)).toBe(true)
    const keyId = provider.kek.keyId
    expect(kms.calls.count({ operation: 'GenerateDataKey', keyId, outcome: 'ok' })).toBe(1)
    expect(kms.calls.count({ operation: 'Decrypt', keyId, outcome: 'ok' })).toBe(1)
  })

  it("refuses a Decrypt under another tenant's EncryptionContext", async () => {
    const provider = await createKey()
    const record = await sealValue({ provider, plaintext: Buffer.from('v'), ...place })
    const wrongTenant = { tenantId: 'org_b', keyId: place.keyId }

    const direct = await failure(provider.unwrapDataKey(record.wrappedDek, wrongTenant))
    expect(direct.code).toBe('decryption_failed')
    expect(kms.calls.last({ operation: 'Decrypt' })?.outcome).toBe('InvalidCiphertextException')

    const moved = await failure(
      openValue({ record, unwrap: unwrapWith(provider), ...place, tenantId: 'org_b' }),
    )
    expect(moved.code).toBe('decryption_failed')
    expect(moved.message).toBe(new AppError('decryption_failed').message)
  })

  it('lets a key policy require the tenant in the EncryptionContext', async () => {
    const root = { AWS: `arn:aws:iam::${account}:root` }
    const crypto = ['kms:GenerateDataKey', 'kms:Decrypt']
    const provider = await createKey({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: root, NotAction: crypto, Resource: '*' },
        {
          Effect: 'Allow',
          Principal: root,
          Action: crypto,
          Resource: '*',
          Condition: { StringEquals: { [`kms:EncryptionContext:${KMS_CONTEXT_TENANT}`]: 'org_a' } },
        },
      ],
    })
    const record = await sealValue({ provider, plaintext: Buffer.from('v'), ...place })
    await expect(
      openValue({ record, unwrap: unwrapWith(provider), ...place }),
    ).resolves.toBeDefined()

    const denied = await failure(
      sealValue({ provider, plaintext: Buffer.from('v'), ...place, tenantId: 'org_b' }),
    )
    expect(denied.code).toBe('kek_access_denied')
    expect(denied.detail).not.toContain('arn:')
  })

  it('maps a disabled key to kek_disabled, after cached data keys expire', async () => {
    const provider = await createKey()
    const record = await sealValue({ provider, plaintext: Buffer.from('v'), ...place })
    let nowMs = 0
    const cache = createDekCache({ ttlSeconds: 60, maxEntries: 10, now: () => nowMs })
    const unwrap: UnwrapDataKey = (request) =>
      cache.getDek({ tenantId: request.context.tenantId, wrapped: request.wrapped }, () =>
        provider.unwrapDataKey(request.wrapped, request.context),
      )
    await openValue({ record, unwrap, ...place })

    await client.send(new DisableKeyCommand({ KeyId: provider.kek.keyId }))
    // Within the TTL the cached data key still serves reads: the documented revocation bound.
    await expect(openValue({ record, unwrap, ...place })).resolves.toBeDefined()
    nowMs += 60_000
    const disabled = await failure(openValue({ record, unwrap, ...place }))
    expect(disabled.code).toBe('kek_disabled')
    expect(disabled.detail).not.toContain('arn:')
    const sealing = await failure(sealValue({ provider, plaintext: Buffer.from('v'), ...place }))
    expect(sealing.code).toBe('kek_disabled')

    await client.send(new EnableKeyCommand({ KeyId: provider.kek.keyId }))
    await expect(openValue({ record, unwrap, ...place })).resolves.toBeDefined()
  })

  it('maps a key pending deletion to kek_pending_deletion, naming the state', async () => {
    const provider = await createKey()
    const record = await sealValue({ provider, plaintext: Buffer.from('v'), ...place })
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: provider.kek.keyId }))
    const error = await failure(openValue({ record, unwrap: unwrapWith(provider), ...place }))
    expect(error.code).toBe('kek_pending_deletion')
    expect(error.extra).toEqual({ kekState: 'PendingDeletion' })
  })

  it('maps an unreachable KMS to kms_unavailable', async () => {
    const provider = await createKey()
    const record = await sealValue({ provider, plaintext: Buffer.from('v'), ...place })
    await kms.faults.refuseConnections()
    try {
      const error = await failure(openValue({ record, unwrap: unwrapWith(provider), ...place }))
      expect(error.code).toBe('kms_unavailable')
      expect(error.headers['Retry-After']).toBeDefined()
    } finally {
      await kms.faults.acceptConnections()
    }
  })
})
