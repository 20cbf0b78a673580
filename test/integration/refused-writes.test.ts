import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccountRepository } from '../../src/storage/accounts.ts'
import { createKekStore } from '../../src/storage/kek-store.ts'
import { itemKey } from '../../src/storage/keys.ts'
import { createMemberRepository } from '../../src/storage/members.ts'
import { createTestTable, type TestTable } from '../support/dynamo.ts'

/**
 * Repositories answer a refused write by meaning (undefined, false), so the domain above them
 * never sees DynamoDB's errors: the races these stand for are too narrow to reach over HTTP.
 */
describe('writes DynamoDB refuses, as the repositories answer them', () => {
  let table: TestTable
  beforeAll(async () => {
    table = await createTestTable()
  })
  afterAll(() => table.client.destroy())

  const repos = () => {
    const deps = { doc: table.doc, table: table.tableName }
    return {
      accounts: createAccountRepository(deps),
      members: createMemberRepository(deps),
      keks: createKekStore(deps),
    }
  }

  it('an organization gone or deleted is not updated', async () => {
    const { accounts } = repos()
    const at = new Date()
    expect(await accounts.updateOrganization('org_missing', { name: 'x' }, at)).toBeUndefined()
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...itemKey.org('org_gone'),
          type: 'org',
          name: 'Gone',
          deletedAt: at.toISOString(),
        },
      }),
    )
    expect(await accounts.updateOrganization('org_gone', { name: 'Back' }, at)).toBeUndefined()
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: itemKey.org('org_gone') }),
    )
    expect(Item?.name).toBe('Gone')
  })

  it('a production reveal for nobody writes nothing', async () => {
    const { members } = repos()
    const grant = { grantedBy: 'usr_owner', grantedAt: new Date().toISOString() }
    expect(await members.setProductionReveal('org_x', 'usr_nobody', grant)).toBe(false)
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: itemKey.member('org_x', 'usr_nobody') }),
    )
    expect(Item).toBeUndefined()
  })

  it('KEK versions are not retired once the target is no longer the active version', async () => {
    const { keks } = repos()
    for (const [version, status] of [
      [1, 'retiring'],
      [2, 'retiring'],
    ] as const) {
      await table.doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...itemKey.kek('org_k', version), type: 'kek', version, status },
        }),
      )
    }
    expect(await keks.retire('org_k', [1], 2, new Date().toISOString())).toBe(false)
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: itemKey.kek('org_k', 1) }),
    )
    expect(Item?.status).toBe('retiring')
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...itemKey.kek('org_k', 2), type: 'kek', version: 2, status: 'active' },
      }),
    )
    expect(await keks.retire('org_k', [1], 2, new Date().toISOString())).toBe(true)
  })
})
