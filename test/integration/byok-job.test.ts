import { randomBytes } from 'node:crypto'
import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  byokPolicy,
  createTenantKey,
  settledJob,
  tenantKms,
  versionItems,
} from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// Time as the servers see it: moved forward to let a dead instance's job lease run out.
const clock = { offset: 0, now: () => Date.now() + clock.offset }

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({
    clock,
    env: { KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_REENCRYPT_RATE: '40' },
  })
  api = client(stack.app)
})
afterAll(() => stack?.close())

async function tenantWithKeys(count: number) {
  const account = await signup(api)
  const names = Array.from({ length: count }, (_, i) => `key-${String(i).padStart(3, '0')}`)
  for (let i = 0; i < names.length; i += 6) {
    await Promise.all(
      names.slice(i, i + 6).map(async (name) => {
        const res = await api.post('/v1/keys', { name, value: `value-of-${name}` }, account.session)
        expect(res.status).toBe(201)
      }),
    )
  }
  const arn = await createTenantKey(tenantKms(stack.kms), byokPolicy(account.tenantId))
  return { ...account, names, arn }
}

const underVersion = async (tenantId: string, version: number) =>
  (await versionItems(stack, tenantId))
    .filter((i) => i.sk.startsWith('KEYVER#'))
    .every((i) => i.sealed.kek.version === version)

async function waitFor(condition: () => boolean) {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10))
}

// Jobs pace themselves against reads and run for seconds; a shared CI machine can take 20 s.
describe('the re-encryption job', { timeout: 60_000 }, () => {
  it('survives its instance dying mid-way: another resumes it, nothing lost or wrapped twice', async () => {
    const { session, tenantId, names, arn } = await tenantWithKeys(60)
    stack.kms.calls.reset()
    // Re-wraps from the platform key; validation's own ReEncrypt (key to itself) is not one.
    const moved = () =>
      stack.kms.calls
        .matching({ operation: 'ReEncrypt', outcome: 'ok' })
        .filter((call) => call.sourceKeyId !== call.keyId).length
    const put = await api.put('/v1/org/encryption', { provider: 'aws-kms', keyArn: arn }, session)
    expect(put.status).toBe(200)
    const jobId = put.body.job.id as string

    // Past the first saved page, then the instance stops as if it had crashed.
    await waitFor(() => moved() >= 30)
    await stack.deps.reencryption.stop()
    const movedByFirst = moved()
    expect(movedByFirst).toBeLessThan(60)
    const midway = (await api.get(`/v1/org/encryption/jobs/${jobId}`, session)).body
    expect(midway).toMatchObject({ status: 'running', total: 60 })
    expect(midway.done).toBeGreaterThanOrEqual(25)

    // While the dead instance's lease lasts, nobody else may run the job.
    const second = stack.anotherInstance()
    await second.deps.reencryption.resume()
    expect(moved()).toBe(movedByFirst)
    expect((await api.get(`/v1/org/encryption/jobs/${jobId}`, session)).body.status).toBe('running')

    clock.offset += 31_000
    await second.deps.reencryption.resume()
    const job = (await api.get(`/v1/org/encryption/jobs/${jobId}`, session)).body
    expect(job).toMatchObject({ status: 'finished', total: 60, done: 60, failed: 0, failures: [] })
    expect(moved()).toBe(60)
    expect(await underVersion(tenantId, 2)).toBe(true)
    const secondApi = client(second.app)
    second.deps.dekCache.clear()
    for (const name of names) {
      expect((await secondApi.get(`/v1/keys/${name}/value`, session)).body.value).toBe(
        `value-of-${name}`,
      )
    }
  })

  it('lets readers and writers go on during a job, with no error', async () => {
    const { session, tenantId, names, arn } = await tenantWithKeys(30)
    const readOnly = names.slice(0, 20)
    const written = names.slice(20)
    expect(
      (await api.put('/v1/org/encryption', { provider: 'aws-kms', keyArn: arn }, session)).status,
    ).toBe(200)
    let running = true
    const settled = stack.deps.reencryption.idle().then(() => {
      running = false
    })
    const errors: string[] = []
    let reads = 0
    let writes = 0
    const reader = async () => {
      for (let i = 0; running; i++) {
        const name = readOnly[i % readOnly.length] ?? ''
        const res = await api.get(`/v1/keys/${name}/value`, session)
        if (res.status !== 200 || res.body.value !== `value-of-${name}`)
          errors.push(JSON.stringify(res.body))
        reads++
      }
    }
    const writer = async () => {
      for (let i = 0; running; i++) {
        const name = written[i % written.length] ?? ''
        const value = `written-${i}`
        const res = await api.put(`/v1/keys/${name}/value`, { value }, session)
        const back = await api.get(`/v1/keys/${name}/value`, session)
        if (res.status !== 200 || back.body.value !== value) errors.push(JSON.stringify(res.body))
        writes++
      }
    }
    await Promise.all([reader(), reader(), reader(), writer(), settled])
    expect(errors).toEqual([])
    expect(reads).toBeGreaterThan(10)
    expect(writes).toBeGreaterThan(2)
    expect((await settledJob(stack, api, session)).status).toBe('finished')
    expect(await underVersion(tenantId, 2)).toBe(true)
  })

  it('lists records it cannot move, and then retires nothing', async () => {
    const { session, tenantId, names, arn } = await tenantWithKeys(3)
    const broken = names[0] ?? ''
    expect((await api.put(`/v1/keys/${broken}/value`, { value: 'v2' }, session)).status).toBe(200)
    const keyId = (await api.get(`/v1/keys/${broken}`, session)).body.id as string
    // Version 1 (no longer current) gets a wrapped key that no KMS key can open.
    const item = { pk: `ORG#${tenantId}`, sk: `KEYVER#${keyId}#000000001` }
    const setWrapped = (wrapped: Uint8Array) =>
      stack.table.doc.send(
        new UpdateCommand({
          TableName: stack.table.tableName,
          Key: item,
          UpdateExpression: 'SET sealed.wrappedDek = :wrapped',
          ExpressionAttributeValues: { ':wrapped': wrapped },
        }),
      )
    const original = (await versionItems(stack, tenantId)).find((i) => i.sk === item.sk)?.sealed
      .wrappedDek as Uint8Array
    await setWrapped(randomBytes(184))
    expect(
      (await api.put('/v1/org/encryption', { provider: 'aws-kms', keyArn: arn }, session)).status,
    ).toBe(200)
    const job = await settledJob(stack, api, session)
    expect(job).toMatchObject({ status: 'failed', total: 4, done: 3, failed: 1 })
    expect(job.failures).toEqual([{ keyId, version: 1, code: 'decryption_failed' }])
    const view = (await api.get('/v1/org/encryption', session)).body
    expect(view.versions.map((v: { status: string }) => v.status)).toEqual(['retiring', 'active'])
    expect((await api.get(`/v1/keys/${broken}/value`, session)).body.value).toBe('v2')

    // Once the cause is fixed, the same settings again retry the job, which then finishes.
    await setWrapped(original)
    const retry = await api.put('/v1/org/encryption', { provider: 'aws-kms', keyArn: arn }, session)
    expect(retry.body.kekVersion).toBe(2)
    expect(retry.body.job.id).not.toBe(job.id)
    expect(await settledJob(stack, api, session)).toMatchObject({ status: 'finished', done: 4 })
    const retried = (await api.get('/v1/org/encryption', session)).body
    expect(retried.versions.map((v: { status: string }) => v.status)).toEqual(['retired', 'active'])
    expect((await api.get(`/v1/keys/${broken}/value?version=1`, session)).body.value).toBe(
      'value-of-key-000',
    )
    expect(
      (await api.get(`/v1/org/encryption/jobs/job_00000000000000000000000000`, session)).status,
    ).toBe(404)
  })
})
