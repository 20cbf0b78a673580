import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  NotFoundException,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { kmsClient } from './kms-local-helpers.ts'

// State that must survive a restart of the local KMS (development mode restarts it often).
let dir: string
let statePath: string
const running: LocalKms[] = []

async function start({ persist = true } = {}) {
  const kms = await startLocalKms(persist ? { persistPath: statePath } : {})
  running.push(kms)
  return kms
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kms-local-'))
  statePath = join(dir, 'state', 'kms.json')
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((kms) => kms.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('persistence', () => {
  it('decrypts, after a restart on the same file, what was encrypted before it', async () => {
    const first = await start()
    const before = kmsClient(first)
    const { KeyMetadata } = await before.send(new CreateKeyCommand({ Description: 'survivor' }))
    const keyId = KeyMetadata?.KeyId ?? ''
    await before.send(new CreateAliasCommand({ AliasName: 'alias/survivor', TargetKeyId: keyId }))
    const context = { tenantId: 't_1' }
    const generated = await before.send(
      new GenerateDataKeyCommand({
        KeyId: 'alias/survivor',
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    )
    await first.close()

    const second = await start()
    expect(second.port).not.toBe(0)
    const after = kmsClient(second)
    const decrypted = await after.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    )
    expect(
      Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(generated.Plaintext ?? [])),
    ).toBe(true)
    const described = await after.send(new DescribeKeyCommand({ KeyId: 'alias/survivor' }))
    expect(described.KeyMetadata).toMatchObject({
      KeyId: keyId,
      Description: 'survivor',
      KeyState: 'Enabled',
    })
  })

  it('keeps key state and policies across a restart', async () => {
    const first = await start()
    const before = kmsClient(first)
    const { KeyMetadata } = await before.send(new CreateKeyCommand({}))
    const keyId = KeyMetadata?.KeyId ?? ''
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'kms:*', Resource: '*' },
      ],
    })
    await before.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy }))
    await before.send(new DisableKeyCommand({ KeyId: keyId }))
    await first.close()

    const after = kmsClient(await start())
    const described = await after.send(new DescribeKeyCommand({ KeyId: keyId }))
    expect(described.KeyMetadata?.KeyState).toBe('Disabled')
    const stored = await after.send(new GetKeyPolicyCommand({ KeyId: keyId }))
    expect(stored.Policy).toBe(policy)
  })

  it('writes the file with mode 0600, atomically, as soon as it starts', async () => {
    const kms = await start()
    expect(statSync(statePath).mode & 0o777).toBe(0o600)
    await kmsClient(kms).send(new CreateKeyCommand({}))
    expect(statSync(statePath).mode & 0o777).toBe(0o600)
    expect(readdirSync(join(dir, 'state'))).toEqual(['kms.json'])
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { keys: unknown[] }
    expect(saved.keys).toHaveLength(1)
  })

  it('refuses to start on a corrupt file rather than overwrite the keys in it', async () => {
    const kms = await start()
    await kmsClient(kms).send(new CreateKeyCommand({}))
    await kms.close()
    writeFileSync(statePath, '{"format": "keystash-local-kms", "version": 1, "keys": [')
    await expect(start()).rejects.toThrow(/not valid JSON/)
    expect(readFileSync(statePath, 'utf8')).toBe(
      '{"format": "keystash-local-kms", "version": 1, "keys": [',
    )
  })

  it('without persistPath, keys live only as long as the process', async () => {
    const first = await start({ persist: false })
    const { KeyMetadata } = await kmsClient(first).send(new CreateKeyCommand({}))
    await first.close()
    const second = await start({ persist: false })
    await expect(
      kmsClient(second).send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId })),
    ).rejects.toBeInstanceOf(NotFoundException)
  })
})
