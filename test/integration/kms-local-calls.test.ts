import {
  DecryptCommand,
  EncryptCommand,
  InvalidCiphertextException,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createKey, kmsClient, platformAccessKey, region, utf8 } from './kms-local-helpers.ts'

// The call log seen over HTTP, as a benchmark in another process reads it.
let kms: LocalKms
let client: KMSClient

beforeAll(async () => {
  kms = await startLocalKms()
  client = kmsClient(kms, { maxAttempts: 1 })
})
afterAll(() => kms.close())
beforeEach(() => kms.calls.reset())

const countOf = async (query = '') => {
  const response = await fetch(`${kms.url}/_local/calls${query}`)
  expect(response.status).toBe(200)
  return ((await response.json()) as { count: number }).count
}

describe('GET /_local/calls', () => {
  it('counts calls, filtered by operation, outcome, key, region and caller', async () => {
    const key = await createKey(client)
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('data key') }),
    )
    await client.send(new DecryptCommand({ CiphertextBlob }))
    await client.send(new DecryptCommand({ CiphertextBlob }))
    const tampered = Uint8Array.from(CiphertextBlob ?? [])
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob: tampered })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException)

    expect(await countOf()).toBe(5)
    expect(await countOf('?operation=Decrypt')).toBe(3)
    expect(await countOf('?operation=Decrypt&outcome=ok')).toBe(2)
    expect(await countOf('?operation=Decrypt&outcome=InvalidCiphertextException')).toBe(1)
    expect(await countOf(`?operation=Encrypt&keyId=${encodeURIComponent(key.arn)}`)).toBe(1)
    expect(await countOf(`?operation=Decrypt&region=${region}&caller=${platformAccessKey}`)).toBe(3)
    expect(await countOf('?operation=Decrypt&region=us-east-1')).toBe(0)
  })

  it('follows the log as it grows and is reset', async () => {
    const key = await createKey(client)
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: utf8('x') }),
    )
    const before = await countOf('?operation=Decrypt')
    await client.send(new DecryptCommand({ CiphertextBlob }))
    expect(await countOf('?operation=Decrypt')).toBe(before + 1)
    kms.calls.reset()
    expect(await countOf('?operation=Decrypt')).toBe(0)
  })

  it('only answers GET', async () => {
    const response = await fetch(`${kms.url}/_local/calls`, { method: 'DELETE' })
    expect(response.status).toBe(405)
  })
})
