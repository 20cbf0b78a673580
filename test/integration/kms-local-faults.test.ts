import { performance } from 'node:perf_hooks'
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  KMSInternalException,
  ReplicateKeyCommand,
} from '@aws-sdk/client-kms'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createKey, kmsClient, rejectionOf } from './kms-local-helpers.ts'

// Fault injection, seen from the SDK: its own retries, error classes and connection errors.
let kms: LocalKms
let client: KMSClient
let firstErrorClient: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms)
  firstErrorClient = kmsClient(kms, { maxAttempts: 1 })
})
afterAll(() => kms.close())
beforeEach(() => kms.calls.reset())
afterEach(async () => {
  kms.faults.clear()
  await kms.faults.acceptConnections()
})

const newKey = (multiRegion = false) => createKey(client, { MultiRegion: multiRegion })
const describeKey = (KeyId: string) => new DescribeKeyCommand({ KeyId })
const dataKey = (KeyId: string) => new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })

describe('latency', () => {
  it('delays answers by at least the given time', async () => {
    const key = await newKey()
    kms.faults.latency(150)
    const started = performance.now()
    await client.send(describeKey(key.keyId))
    expect(performance.now() - started).toBeGreaterThanOrEqual(150)
  })
})

describe('throttling', () => {
  it('always: the SDK retries ThrottlingException, then gives up with it', async () => {
    const key = await newKey()
    kms.faults.throttle()
    const error = await rejectionOf(client.send(describeKey(key.keyId)))
    expect(error.name).toBe('ThrottlingException')
    expect(error.$metadata).toMatchObject({ attempts: 3, httpStatusCode: 400 })
    expect(kms.calls.count({ operation: 'DescribeKey', outcome: 'ThrottlingException' })).toBe(3)
  })

  it('next N calls: the SDK’s retries get through once the fault is used up', async () => {
    const key = await newKey()
    kms.faults.throttle({ times: 2 })
    const answer = await client.send(describeKey(key.keyId))
    expect(answer.KeyMetadata?.KeyId).toBe(key.keyId)
    expect(answer.$metadata.attempts).toBe(3)
    expect(kms.calls.matching({ operation: 'DescribeKey' }).map((c) => c.outcome)).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      'ok',
    ])
    expect(kms.faults.active).toEqual([])
  })

  it('with maxAttempts: 1 the first ThrottlingException reaches the caller', async () => {
    const key = await newKey()
    kms.faults.throttle({ times: 1 })
    const error = await rejectionOf(firstErrorClient.send(describeKey(key.keyId)))
    expect(error.name).toBe('ThrottlingException')
    expect(error.$metadata).toMatchObject({ attempts: 1 })
    await expect(firstErrorClient.send(describeKey(key.keyId))).resolves.toBeDefined()
  })
})

describe('internal errors', () => {
  it('always: KMSInternalException (HTTP 500) after the SDK’s retries', async () => {
    const key = await newKey()
    kms.faults.internalError()
    const error = await rejectionOf(client.send(dataKey(key.keyId)))
    expect(error).toBeInstanceOf(KMSInternalException)
    expect(error.$metadata).toMatchObject({ attempts: 3, httpStatusCode: 500 })
  })

  it('next N calls: a single failure is absorbed by a retry', async () => {
    const key = await newKey()
    kms.faults.internalError({ times: 1 })
    const answer = await client.send(dataKey(key.keyId))
    expect(answer.$metadata.attempts).toBe(2)
    await expect(firstErrorClient.send(dataKey(key.keyId))).resolves.toBeDefined()
  })

  it('limited to one region: models that region’s outage while a replica elsewhere serves', async () => {
    const key = await newKey(true)
    await client.send(new ReplicateKeyCommand({ KeyId: key.keyId, ReplicaRegion: 'us-east-1' }))
    const { CiphertextBlob } = await client.send(dataKey(key.keyId))
    kms.faults.internalError({ region: 'eu-west-1' })

    await expect(
      firstErrorClient.send(new DecryptCommand({ CiphertextBlob })),
    ).rejects.toBeInstanceOf(KMSInternalException)
    const usEast = kmsClient(kms, { region: 'us-east-1', maxAttempts: 1 })
    const decrypted = await usEast.send(new DecryptCommand({ CiphertextBlob }))
    expect(decrypted.KeyId).toBe(`arn:aws:kms:us-east-1:111122223333:key/${key.keyId}`)
  })

  it('limited to one key (given by ARN): other keys are untouched, blobs under it fail', async () => {
    const broken = await newKey()
    const healthy = await newKey()
    const { CiphertextBlob } = await client.send(dataKey(broken.keyId))
    kms.faults.internalError({ keyId: broken.arn })

    await expect(firstErrorClient.send(dataKey(broken.keyId))).rejects.toBeInstanceOf(
      KMSInternalException,
    )
    await expect(
      firstErrorClient.send(new DecryptCommand({ CiphertextBlob })),
    ).rejects.toBeInstanceOf(KMSInternalException)
    await expect(firstErrorClient.send(dataKey(healthy.keyId))).resolves.toBeDefined()
  })
})

describe('refused connections', () => {
  it('refuses connections (even pooled ones) until accepted again on the same port', async () => {
    const key = await newKey()
    await firstErrorClient.send(describeKey(key.keyId)) // leaves a keep-alive connection behind
    await kms.faults.refuseConnections()

    const error = await rejectionOf(firstErrorClient.send(describeKey(key.keyId)))
    expect(error.code).toBe('ECONNREFUSED')

    await kms.faults.acceptConnections()
    expect(kms.url).toBe(`http://127.0.0.1:${kms.port}`)
    await expect(firstErrorClient.send(describeKey(key.keyId))).resolves.toHaveProperty(
      'KeyMetadata.KeyId',
      key.keyId,
    )
  })
})

describe('fault control over HTTP (for a standalone process)', () => {
  const faultsUrl = () => `${kms.url}/_local/faults`
  const post = (body: unknown) =>
    fetch(faultsUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  it('POST adds faults, GET lists them, DELETE clears them', async () => {
    const key = await newKey()
    const added = await post([
      { type: 'throttle', region: 'eu-west-1' },
      { type: 'latency', ms: 1, keyId: key.keyId, times: 5 },
    ])
    expect(added.status).toBe(200)
    const listed = (await (await fetch(faultsUrl())).json()) as { faults: unknown[] }
    expect(listed.faults).toHaveLength(2)
    await expect(firstErrorClient.send(describeKey(key.keyId))).rejects.toMatchObject({
      name: 'ThrottlingException',
    })

    expect((await fetch(faultsUrl(), { method: 'DELETE' })).status).toBe(200)
    await expect(firstErrorClient.send(describeKey(key.keyId))).resolves.toBeDefined()
  })

  it('POST refuses a fault it does not understand', async () => {
    const response = await post({ type: 'gremlins' })
    expect(response.status).toBe(400)
    expect(kms.faults.active).toEqual([])
  })

  it('refuseConnections for a while, then listens again by itself', async () => {
    const key = await newKey()
    // A client with no pooled connection: this process also holds the server, so a pooled
    // socket could still be half-closed when the answer to the POST arrives.
    const fresh = kmsClient(kms, { maxAttempts: 1 })
    // 1 s: long enough that a stalled runner still makes its first attempt inside the window.
    expect((await post({ type: 'refuseConnections', durationMs: 1_000 })).status).toBe(200)
    let refused = 0
    const deadline = Date.now() + 5_000
    for (;;) {
      try {
        await fresh.send(describeKey(key.keyId))
        break
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ECONNREFUSED')
        refused += 1
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
    expect(refused).toBeGreaterThan(0)
  })
})
