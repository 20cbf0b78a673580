import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendConditional, writeIf } from '../../src/storage/conditional-write.ts'
import { writeSealedCopies } from '../../src/storage/sealed-record-write.ts'
import { createTestTable, type TestTable } from '../support/dynamo.ts'

/** Conditional writes against DynamoDB Local: what DynamoDB refuses, and what it rethrows. */
describe('conditional writes', () => {
  let table: TestTable
  beforeAll(async () => {
    table = await createTestTable()
  })
  afterAll(() => table.client.destroy())

  const putOnce = (pk: string, value: string) =>
    new PutCommand({
      TableName: table.tableName,
      Item: { pk, sk: 'X', value },
      ConditionExpression: 'attribute_not_exists(pk)',
    })
  const read = async (pk: string) =>
    (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { pk, sk: 'X' } })))
      .Item

  it('answers true once written and false when the condition fails, keeping the first item', async () => {
    expect(await writeIf(table.doc, putOnce('ONCE', 'first'))).toBe(true)
    expect(await writeIf(table.doc, putOnce('ONCE', 'second'))).toBe(false)
    expect((await read('ONCE'))?.value).toBe('first')
  })

  it('hands back the output of a write, and the caller’s answer or error when refused', async () => {
    await writeIf(table.doc, putOnce('GONE', 'v'))
    const deleteIfThere = () =>
      new DeleteCommand({
        TableName: table.tableName,
        Key: { pk: 'GONE', sk: 'X' },
        ConditionExpression: 'attribute_exists(pk)',
        ReturnValues: 'ALL_OLD',
      })
    const deleted = await sendConditional(table.doc, deleteIfThere(), () => 'refused' as const)
    expect(deleted === 'refused' ? undefined : deleted.Attributes?.value).toBe('v')
    expect(await sendConditional(table.doc, deleteIfThere(), () => 'refused' as const)).toBe(
      'refused',
    )
    await expect(
      sendConditional(table.doc, deleteIfThere(), ({ failed }) => {
        throw new Error(`refused at ${failed.join(',')}`)
      }),
    ).rejects.toThrow('refused at 0')
  })

  it('names the transaction’s items whose condition failed, by position', async () => {
    await writeIf(table.doc, putOnce('TAKEN', 'v'))
    const refusal = await sendConditional(
      table.doc,
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table.tableName, Item: { pk: 'FREE', sk: 'X' } } },
          {
            Put: {
              TableName: table.tableName,
              Item: { pk: 'TAKEN', sk: 'X', value: 'w' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
      ({ failed }) => failed,
    )
    expect(refusal).toEqual([1])
    expect(await read('FREE')).toBeUndefined()
    expect((await read('TAKEN'))?.value).toBe('v')
  })

  it('rethrows what is no refusal', async () => {
    const broken = new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: 'ANY', sk: 'X' },
      UpdateExpression: 'SET #missing = :v',
      ExpressionAttributeValues: { ':v': 1 },
    })
    await expect(writeIf(table.doc, broken)).rejects.toMatchObject({ name: 'ValidationException' })
  })
})

describe('writing copies of a sealed record', () => {
  let table: TestTable
  afterAll(() => table.client.destroy())

  const tenantId = 'org_sealed'
  const keyId = 'key_sealed'
  const bytes = (n: number) => new Uint8Array([n, n, n])
  const sealed = (n: number) => ({ wrappedDek: bytes(n), kek: { version: n } })

  beforeAll(async () => {
    table = await createTestTable()
    const items = [
      { pk: `ORG#${tenantId}`, sk: `KEYVER#${keyId}#000000001`, sealed: sealed(1) },
      ...['KEY#key_sealed', 'KEYNAME#stripe'].map((sk) => ({
        pk: `ORG#${tenantId}`,
        sk,
        keyId,
        name: 'stripe',
        currentVersion: 1,
        current: { version: 1, sealed: sealed(1) },
      })),
    ]
    for (const Item of items) {
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item }))
    }
  })

  const item = async (sk: string) =>
    (
      await table.doc.send(
        new GetCommand({ TableName: table.tableName, Key: { pk: `ORG#${tenantId}`, sk } }),
      )
    ).Item
  /** Copies named by their KEK version, re-wrapped as the re-encryption job does. */
  const rewrap = (old: number, next: number) => ({
    oldWrappedDek: bytes(old),
    set: { 'sealed.wrappedDek': bytes(next), 'sealed.kek': { version: next } },
  })

  it('writes every copy that still holds the data key it was read with', async () => {
    const written = await writeSealedCopies(
      table.doc,
      table.tableName,
      { tenantId, keyId, version: 1 },
      { version: [1, 2], current: [1, 2, 'stripe'] },
      rewrap,
    )
    expect(written).toBe(true)
    expect((await item(`KEYVER#${keyId}#000000001`))?.sealed).toEqual(sealed(2))
    for (const sk of ['KEY#key_sealed', 'KEYNAME#stripe']) {
      expect((await item(sk))?.current).toEqual({ version: 1, sealed: sealed(2) })
    }
  })

  it('writes nothing when any copy changed meanwhile, or the version is no longer current', async () => {
    const stale = await writeSealedCopies(
      table.doc,
      table.tableName,
      { tenantId, keyId, version: 1 },
      { version: [2, 3], current: [1, 3, 'stripe'] },
      rewrap,
    )
    expect(stale).toBe(false)
    const notCurrent = await writeSealedCopies(
      table.doc,
      table.tableName,
      { tenantId, keyId, version: 2 },
      { current: [2, 3, 'stripe'] },
      rewrap,
    )
    expect(notCurrent).toBe(false)
    expect((await item(`KEYVER#${keyId}#000000001`))?.sealed).toEqual(sealed(2))
    expect((await item('KEY#key_sealed'))?.current).toEqual({ version: 1, sealed: sealed(2) })
  })
})
