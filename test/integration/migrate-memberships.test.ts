import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCOPES } from '../../src/auth/scopes.ts'
import { memberships } from '../../src/storage/migrations/005-memberships.ts'
import type { MigrationOutcome } from '../../src/storage/migrations/index.ts'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  tableWrittenByPreviousRelease,
  upgrade,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

/**
 * The previous release had one user per organization, named on the user item: the current
 * code still honours that user as owner before the upgrade, and `005-memberships` turns them
 * into the organization's one owner.
 */
describe('migrate: memberships for the organizations of the previous release', () => {
  let kms: LocalKms
  let table: TestTable
  let data: PreviousReleaseData
  let stack: Stack
  let before: { status: number; body: any }
  let outcomes: MigrationOutcome[]

  const item = async (pk: string, sk: string) =>
    (
      await table.doc.send(
        new GetCommand({ TableName: table.tableName, Key: { pk, sk }, ConsistentRead: true }),
      )
    ).Item

  beforeAll(async () => {
    ;({ kms, table, data } = await tableWrittenByPreviousRelease())
    stack = await startStack({ kms, table, env: { KEYSTASH_RECORD_CACHE_MS: '0' } })
    before = await client(stack.app).get('/v1/me', data.session)
    outcomes = await upgrade(table)
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await kms?.close()
  })

  it('reads the user item of the previous release as the owner before the upgrade', () => {
    expect(before.status).toBe(200)
    expect(before.body.role).toBe('owner')
    expect(before.body.scopes).toEqual([...SCOPES])
  })

  it('makes the user the one owner and drops the fields from the user item', async () => {
    const step = outcomes.find((o) => o.id === '005-memberships')
    expect(step?.outcome).toBe('applied')
    expect(step?.detail).toContain('1 organization owner(s) given memberships')
    const userId = (await item(`EMAIL#${data.email}`, 'EMAIL'))?.userId as string
    const member = await item(`ORG#${data.tenantId}`, `MEMBER#${userId}`)
    expect(member).toMatchObject({ role: 'owner', email: data.email, signInMethod: 'password' })
    expect(await item(`USER#${userId}`, `MEMBEROF#${data.tenantId}`)).toBeDefined()
    const user = await item(`USER#${userId}`, 'USER')
    expect(user?.tenantId).toBeUndefined()
    expect(user?.role).toBeUndefined()
    expect((await item(`ORG#${data.tenantId}`, 'ORG'))?.ownerCount).toBe(1)
  })

  it('keeps the old session and login working, as the owner', async () => {
    const api = client(stack.app)
    const me = await api.get('/v1/me', data.session)
    expect([me.status, me.body.role]).toEqual([200, 'owner'])
    const login = await api.post('/v1/auth/login', { email: data.email, password: data.password })
    expect(login.status).toBe(200)
    const fresh = login.body.session.token as string
    expect((await api.get('/v1/me', fresh)).body.tenantId).toBe(data.tenantId)
    expect((await api.get('/v1/keys/openai/value', fresh)).body.value).toBe('sk-proj-release-two')
  })

  it('applies nothing more when run again', async () => {
    const again = await upgrade(table)
    expect(again.find((o) => o.id === '005-memberships')?.outcome).toBe('already applied')
    const rerun = await memberships.run({
      dynamodb: table.client,
      doc: table.doc,
      table: table.tableName,
      log: () => {},
    })
    expect(rerun).toContain('0 organization owner(s)')
    expect((await item(`ORG#${data.tenantId}`, 'ORG'))?.ownerCount).toBe(1)
  })
})
