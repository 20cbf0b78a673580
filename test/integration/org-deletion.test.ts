import { BatchWriteCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOrganizationService } from '../../src/domain/organizations.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createAccountRepository } from '../../src/storage/accounts.ts'
import { createMemberRepository } from '../../src/storage/members.ts'
import { createOrgPurge } from '../../src/storage/org-purge.ts'
import { rawMaterial } from '../support/byok.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({
    env: { KEYSTASH_RECORD_CACHE_MS: '0', KEYSTASH_REENCRYPT_RATE: '1000' },
  })
  api = client(stack.app)
})
afterAll(() => stack?.close())

type Item = Record<string, any>
type Api = ReturnType<typeof client>

/** Every item a Query (one partition) or a Scan (the whole table) returns, page after page. */
async function readAll(command: (ExclusiveStartKey?: Item) => QueryCommand | ScanCommand) {
  const items: Item[] = []
  let ExclusiveStartKey: Item | undefined
  do {
    const page = await stack.table.doc.send(command(ExclusiveStartKey) as QueryCommand)
    items.push(...(page.Items ?? []))
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
  return items
}

const TableName = () => stack.table.tableName
const partition = (pk: string) =>
  readAll(
    (ExclusiveStartKey) =>
      new QueryCommand({
        TableName: TableName(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
  )
const scanTable = () =>
  readAll(
    (ExclusiveStartKey) =>
      new ScanCommand({ TableName: TableName(), ConsistentRead: true, ExclusiveStartKey }),
  )

/** Every binary value in an item (ciphertexts, IVs, wrapped data keys and material), base64. */
function binaries(value: unknown, out = new Set<string>()): Set<string> {
  if (value instanceof Uint8Array) out.add(Buffer.from(value).toString('base64'))
  else if (value && typeof value === 'object')
    for (const child of Object.values(value)) binaries(child, out)
  return out
}

/** Keys with several versions each, and an access token that reads them. */
async function seed(session: string, api: Api, names: string[]) {
  for (const name of names) {
    expect((await api.post('/v1/keys', { name, value: `${name}-v1` }, session)).status).toBe(201)
    for (const v of [2, 3])
      expect(
        (await api.put(`/v1/keys/${name}/value`, { value: `${name}-v${v}` }, session)).status,
      ).toBe(200)
  }
  const minted = await api.post(
    '/v1/tokens',
    { name: 'app', scopes: ['keys:read'], expiresIn: 3600, environment: 'production' },
    session,
  )
  expect(minted.status).toBe(201)
  return minted.body.token as string
}

const tenantLogs = (tenantId: string) =>
  stack.logs.lines().filter((line) => line.tenantId === tenantId)
const failures = (tenantId: string) =>
  tenantLogs(tenantId).filter((line) => line.level === 'error' || line.level === 'fatal')

describe('deleting an organization', () => {
  it('erases its keys, KEK records, jobs and tokens, and nothing of anyone else', async () => {
    const victim = await signup(api)
    const other = await signup(api)
    const victimToken = await seed(victim.session, api, ['openai', 'stripe'])
    await seed(other.session, api, ['openai', 'twilio'])

    // A raw KEK (its material wrapped by the platform key), switched to on a slow instance, so
    // the job moving the older data keys is still open when the organization goes.
    const slow = stack.anotherInstance({ KEYSTASH_REENCRYPT_RATE: '1' })
    const raw = await client(slow.app).put(
      '/v1/org/encryption',
      { provider: 'raw', material: rawMaterial() },
      victim.session,
    )
    expect(raw.status, JSON.stringify(raw.body)).toBe(200)
    await seed(victim.session, api, ['raw-era'])
    expect((await api.get('/v1/keys/stripe/value', victimToken)).body.value).toBe('stripe-v3')

    await stack.deps.lastUsed.settled()
    const before = await partition(`ORG#${victim.tenantId}`)
    const kinds = new Set(before.map((i) => String(i.sk).split('#')[0]))
    // EVENT: the outbox events of the new versions (ids and names, for webhooks).
    expect([...kinds].sort()).toEqual([
      'EVENT',
      'KEK',
      'KEKJOB',
      'KEKREMIND',
      'KEY',
      'KEYNAME',
      'KEYVER',
      'MEMBER',
      'ORG',
      'REKEY',
      'TOKEN',
    ])
    expect(before.filter((i) => i.sealedMaterial).length).toBe(1)
    expect(before.some((i) => i.gsi1pk === 'KEKJOBS')).toBe(true)
    const secrets = binaries(before.filter((i) => i.sk !== 'ORG'))
    // IV, ciphertext and wrapped data key of 9 key versions, and of the sealed raw material.
    expect(secrets.size).toBe(9 * 3 + 3)
    const otherBefore = await partition(`ORG#${other.tenantId}`)
    const auditBefore = await partition(`AUDIT#${victim.tenantId}`)
    expect(auditBefore.length).toBeGreaterThan(0)

    expect((await api.delete('/v1/org', victim.session)).status).toBe(204)
    // The slow instance's job loses its item: it ends, logged, without taking the server down.
    await slow.deps.reencryption.idle()

    const after = await partition(`ORG#${victim.tenantId}`)
    expect(after.map((i) => i.sk)).toEqual(['ORG'])
    expect(after[0]?.deletedAt).toEqual(expect.any(String))
    const left = binaries(await scanTable())
    expect([...secrets].filter((b) => left.has(b))).toEqual([])
    const openJobs = await stack.table.doc.send(
      new QueryCommand({
        TableName: stack.table.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :open',
        ExpressionAttributeValues: { ':open': 'KEKJOBS' },
      }),
    )
    expect(openJobs.Items ?? []).toEqual([])
    expect(await partition(`ORG#${other.tenantId}`)).toEqual(otherBefore)
    expect((await partition(`AUDIT#${victim.tenantId}`)).length).toBeGreaterThanOrEqual(
      auditBefore.length,
    )

    for (const app of [api, client(slow.app)]) {
      const read = await app.get('/v1/keys/stripe/value', victimToken)
      expect(read.status).toBe(401)
      expect(read.body.code).toBe('invalid_token')
      expect((await app.get('/v1/me', victim.session)).body.code).toBe('invalid_token')
    }
    expect(failures(victim.tenantId)).toEqual([])
    expect(tenantLogs(victim.tenantId).map((line) => line.msg)).toContain(
      're-encryption job lease lost',
    )
  })

  it('erases a partition larger than one page', async () => {
    const { session, tenantId } = await signup(api)
    const names = Array.from({ length: 60 }, (_, i) => `key-${i}`)
    for (let i = 0; i < names.length; i += 6) {
      const created = await Promise.all(
        names.slice(i, i + 6).map((name) => api.post('/v1/keys', { name, value: name }, session)),
      )
      expect(created.map((r) => r.status)).toEqual(Array(created.length).fill(201))
    }
    const before = await partition(`ORG#${tenantId}`)
    // The keys, the organization, its re-keying schedule, its owner's membership and the session.
    expect(before.length).toBe(60 * 3 + 4)

    expect((await api.delete('/v1/org', session)).status).toBe(204)
    expect((await partition(`ORG#${tenantId}`)).map((i) => i.sk)).toEqual(['ORG'])
    const erased = tenantLogs(tenantId).find((line) => line.msg === 'deleted organization erased')
    expect(erased?.deleted).toBe(before.length - 1)
  })

  it('finishes an interrupted erasure when a repeated delete gets through', async () => {
    const { session, tenantId } = await signup(api)
    await seed(session, api, ['a', 'b', 'c'])
    // An instance whose status cache still holds the organization as it was before the mark.
    const cached = client(stack.another({ KEYSTASH_RECORD_CACHE_MS: '60000' }))
    expect((await cached.get('/v1/me', session)).status).toBe(200)

    const markedAt = new Date(Date.now() - 120_000)
    await createAccountRepository({
      doc: stack.table.doc,
      table: stack.table.tableName,
    }).markOrganizationDeleted(tenantId, markedAt)
    let writes = 0
    // The table's own client but for `send` (the query paginator wants a document client).
    const failing = Object.assign(Object.create(stack.table.doc), {
      send: (command: unknown) => {
        if (command instanceof BatchWriteCommand && ++writes > 1)
          return Promise.reject(new Error('connection reset'))
        return stack.table.doc.send(command as never)
      },
    }) as typeof stack.table.doc
    await expect(
      createOrgPurge({ doc: failing, table: stack.table.tableName, pageSize: 4 }).purgePartition(
        tenantId,
      ),
    ).rejects.toThrow('connection reset')
    const midway = await partition(`ORG#${tenantId}`)
    expect(midway.length).toBeGreaterThan(1)

    expect((await cached.delete('/v1/org', session)).status).toBe(204)
    const after = await partition(`ORG#${tenantId}`)
    expect(after.map((i) => i.sk)).toEqual(['ORG'])
    expect(after[0]?.deletedAt).toBe(markedAt.toISOString())
  })

  it('retries the erasure within the request, and says so when it cannot finish', async () => {
    const accounts = createAccountRepository({ doc: stack.table.doc, table: stack.table.tableName })
    const real = createOrgPurge({ doc: stack.table.doc, table: stack.table.tableName })
    const serviceFailing = (failures: number) =>
      createOrganizationService({
        accounts,
        members: createMemberRepository({ doc: stack.table.doc, table: stack.table.tableName }),
        purge: {
          purgePartition: (tenantId) =>
            failures-- > 0 ? Promise.reject(new Error('throttled')) : real.purgePartition(tenantId),
        },
        clock: systemClock,
        config: stack.deps.config,
        logger: stack.logs.logger,
        onChanged: () => {},
      })
    const owner = async () => {
      const { session, tenantId, userId } = await signup(api)
      await seed(session, api, ['k'])
      const principal = {
        kind: 'session' as const,
        tokenId: 'tok_test',
        tenantId,
        userId,
        scopes: ['org:write' as const],
        expiresAt: new Date(Date.now() + 60_000),
      }
      return { tenantId, principal }
    }

    const flaky = await owner()
    await serviceFailing(1).delete(flaky.principal)
    expect((await partition(`ORG#${flaky.tenantId}`)).map((i) => i.sk)).toEqual(['ORG'])
    expect(tenantLogs(flaky.tenantId).map((l) => l.msg)).toContain(
      'erasing a deleted organization failed; retrying',
    )

    const broken = await owner()
    await expect(serviceFailing(Infinity).delete(broken.principal)).rejects.toMatchObject({
      code: 'storage_unavailable',
    })
    expect((await accounts.getOrganization(broken.tenantId))?.deletedAt).toEqual(expect.any(String))
    expect(failures(broken.tenantId).map((l) => l.msg)).toEqual([
      'organization deleted but its data not erased',
    ])
  })
})
