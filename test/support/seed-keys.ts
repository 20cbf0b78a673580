import { BatchWriteCommand, paginateQuery } from '@aws-sdk/lib-dynamodb'
import { sealValue } from '../../src/crypto/envelope.ts'
import { newId } from '../../src/ids.ts'
import { type KeyRecord, newKeyItems } from '../../src/storage/key-items.ts'
import type { Stack } from './stack.ts'

/**
 * Stores `count` keys named `key-0000`... with values `value-of-<name>`, each sealed like the
 * API seals it (its own data key from the tenant's active KEK), but written in batches rather
 * than one transaction per key: for tests that need many keys and nothing else from the API.
 */
export async function seedKeys(
  stack: Pick<Stack, 'deps' | 'table'>,
  tenantId: string,
  count: number,
): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `key-${String(i).padStart(4, '0')}`)
  const provider = await stack.deps.keks.active(tenantId)
  const now = new Date().toISOString()
  const records = await Promise.all(
    names.map(async (name): Promise<KeyRecord> => {
      const keyId = newId('key')
      const sealed = await sealValue({
        provider,
        plaintext: Buffer.from(`value-of-${name}`),
        tenantId,
        keyId,
        version: 1,
      })
      return {
        tenantId,
        keyId,
        name,
        provider: 'generic',
        tags: [],
        currentVersion: 1,
        createdAt: now,
        updatedAt: now,
        current: { version: 1, sealed, createdAt: now },
      }
    }),
  )
  const items = records.flatMap(newKeyItems)
  for (let i = 0; i < items.length; i += 25) {
    let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }))
    while (pending.length > 0) {
      const result = await stack.table.doc.send(
        new BatchWriteCommand({ RequestItems: { [stack.table.tableName]: pending } }),
      )
      pending = (result.UnprocessedItems?.[stack.table.tableName] ?? []) as typeof pending
    }
  }
  return names
}

/** Every item of a tenant whose sort key starts with `prefix`, straight from the table. */
export async function tenantItems(
  stack: Pick<Stack, 'table'>,
  tenantId: string,
  prefix: string,
): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = []
  const pages = paginateQuery(
    { client: stack.table.doc },
    {
      TableName: stack.table.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `ORG#${tenantId}`, ':prefix': prefix },
      ConsistentRead: true,
    },
  )
  for await (const page of pages) out.push(...(page.Items ?? []))
  return out
}
