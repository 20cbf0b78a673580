import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb'
import { AppError } from '../errors.ts'
import type { OutboxEvent } from '../events/catalog.ts'
import { sendConditional } from './conditional-write.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { DUE, dueAttributes } from './due-index.ts'
import {
  type KeyListFilters,
  type KeyMetadataUpdate,
  type KeyRecord,
  keyFilterExpression,
  keyRefItem,
  LIFETIME_FIELDS,
  newKeyItems,
  type StoredVersion,
  toKeyRecord,
  toStoredVersion,
  versionItem,
} from './key-items.ts'
import { type ItemKey, itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'
import { queryAll, queryFilledPage } from './query-pages.ts'

export class VersionConflict extends Error {}

/**
 * API keys. Every key lives in two items with the same attributes, `KEY#<id>` and
 * `KEYNAME#<name>`, always written together in one transaction (see table.ts for why).
 */
export function createKeyRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  const both = (r: Pick<KeyRecord, 'tenantId' | 'keyId' | 'name'>) => [
    itemKey.key(r.tenantId, r.keyId),
    itemKey.keyName(r.tenantId, r.name),
  ]

  return {
    async create(record: KeyRecord): Promise<void> {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: newKeyItems(record).map((Item, i) => ({
            Put: {
              TableName: table,
              // The id item also stands for the key in the index of due dates.
              Item: i === 0 ? { ...Item, ...dueAttributes(record.createdAt, Item) } : Item,
              // The key's two items claim its id and name; the version item comes with them.
              ...(Item.type === 'key' ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
            },
          })),
        }),
        () => {
          throw new AppError('conflict', `A key named ${record.name} already exists.`, {
            extra: { name: record.name },
          })
        },
      )
    },

    async get(tenantId: string, ref: string): Promise<KeyRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({ TableName: table, Key: keyRefItem(tenantId, ref), ConsistentRead: true }),
      )
      return Item ? toKeyRecord(Item) : undefined
    },

    async list(
      tenantId: string,
      { limit, cursor, ...filter }: KeyListFilters & { limit: number; cursor?: string },
    ): Promise<{ items: KeyRecord[]; nextCursor: string | null }> {
      const pk = itemKey.org(tenantId).pk
      const { filters, values } = keyFilterExpression(filter)
      values[':pk'] = pk
      values[':prefix'] = 'KEYNAME#'
      const page = await queryFilledPage(
        doc,
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
          ExpressionAttributeValues: values,
          ExclusiveStartKey: decodeCursor(cursor, { pk, skPrefix: 'KEYNAME#' }),
        },
        limit,
      )
      return { items: page.items.map(toKeyRecord), nextCursor: encodeCursor(page.lastKey) }
    },

    /**
     * Makes `next` the current version, if the current one is still `next.version - 1`;
     * otherwise throws VersionConflict and writes nothing, so concurrent writers retry with
     * the next number instead of overwriting each other.
     */
    async addVersion(
      record: KeyRecord,
      next: StoredVersion,
      { rotationDueAt, events = [] }: { rotationDueAt?: string; events?: OutboxEvent[] } = {},
    ): Promise<void> {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            ...both(record).map((key, i) => ({
              Update: {
                TableName: table,
                Key: key,
                // A new replacement date: the id item is due for the scheduler's look now.
                UpdateExpression: `SET currentVersion = :next, #current = :current, updatedAt = :now${rotationDueAt ? `, rotationDueAt = :due${i === 0 ? ', gsi1pk = :dueIndex, gsi1sk = :dueAt' : ''}` : ''}`,
                ConditionExpression: 'currentVersion = :previous AND keyId = :keyId',
                ExpressionAttributeNames: { '#current': 'current' },
                ExpressionAttributeValues: {
                  ':next': next.version,
                  ':previous': next.version - 1,
                  ':current': next,
                  ':now': next.createdAt,
                  ':keyId': record.keyId,
                  ...(rotationDueAt ? { ':due': rotationDueAt } : {}),
                  ...(rotationDueAt && i === 0
                    ? {
                        ':dueIndex': DUE,
                        ':dueAt': dueAttributes(next.createdAt, key).gsi1sk,
                      }
                    : {}),
                },
              },
            })),
            {
              Put: {
                TableName: table,
                Item: versionItem(record.tenantId, record.keyId, next),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...events.map((event) => eventPut(table, event)),
          ],
        }),
        ({ failed, reasons, error }) => {
          if (failed.length > 0 || reasons.includes('TransactionConflict')) {
            throw new VersionConflict()
          }
          throw error
        },
        { anyCancellation: true },
      )
    },

    async update(record: KeyRecord, changes: KeyMetadataUpdate, now: string): Promise<void> {
      const names: Record<string, string> = {}
      const values: Record<string, unknown> = { ':now': now, ':keyId': record.keyId }
      const sets = ['updatedAt = :now']
      const removes: string[] = []
      for (const [field, value] of Object.entries(changes)) {
        names[`#${field}`] = field
        if (value === undefined || value === null) removes.push(`#${field}`)
        else {
          sets.push(`#${field} = :${field}`)
          values[`:${field}`] = value
        }
      }
      const expression = (extraSets: string[]) =>
        `SET ${[...sets, ...extraSets].join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`
      // A changed expiry or replacement policy: the id item is due for the scheduler's look now.
      const lifetimeChanged = LIFETIME_FIELDS.some((field) => field in changes)
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: both(record).map((key, i) => {
            const due = lifetimeChanged && i === 0
            return {
              Update: {
                TableName: table,
                Key: key,
                UpdateExpression: expression(due ? ['gsi1pk = :dueIndex', 'gsi1sk = :dueAt'] : []),
                ConditionExpression: 'keyId = :keyId',
                ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
                ExpressionAttributeValues: due
                  ? {
                      ...values,
                      ':dueIndex': DUE,
                      ':dueAt': dueAttributes(now, key).gsi1sk,
                    }
                  : values,
              },
            }
          }),
        }),
        ({ failed, reasons, error }) => {
          if (failed.length > 0) throw new AppError('not_found', 'No such key.')
          if (reasons.includes('TransactionConflict')) {
            throw new AppError(
              'conflict',
              'The key was being changed at the same moment; try again.',
              { headers: { 'retry-after': '1' } },
            )
          }
          throw error
        },
        { anyCancellation: true },
      )
    },

    /**
     * Removes the key (both items) at once, with `events` in the same transaction, then every
     * version's ciphertext.
     */
    async delete(record: KeyRecord, events: OutboxEvent[] = []): Promise<void> {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            ...both(record).map((key) => ({
              Delete: {
                TableName: table,
                Key: key,
                ConditionExpression: 'keyId = :keyId',
                ExpressionAttributeValues: { ':keyId': record.keyId },
              },
            })),
            ...events.map((event) => eventPut(table, event)),
          ],
        }),
        () => {
          throw new AppError('not_found', 'No such key.')
        },
      )
      const versions = await this.versionKeys(record.tenantId, record.keyId)
      for (let i = 0; i < versions.length; i += 25) {
        let pending = versions.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }))
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > 8)
            throw new Error('BatchWriteItem left deletions unprocessed after retries')
          if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** attempt)))
          const result = await doc.send(
            new BatchWriteCommand({ RequestItems: { [table]: pending } }),
          )
          pending = (result.UnprocessedItems?.[table] ?? []) as typeof pending
        }
      }
    },

    async getVersion(
      tenantId: string,
      keyId: string,
      version: number,
    ): Promise<StoredVersion | undefined> {
      const { Item } = await doc.send(
        new GetCommand({ TableName: table, Key: itemKey.keyVersion(tenantId, keyId, version) }),
      )
      return Item ? toStoredVersion(Item) : undefined
    },

    async listVersions(tenantId: string, keyId: string): Promise<StoredVersion[]> {
      const out: StoredVersion[] = []
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': itemKey.org(tenantId).pk,
          ':prefix': `KEYVER#${keyId}#`,
        },
      })
      for (const item of items) out.push(toStoredVersion(item))
      return out
    },

    async versionKeys(tenantId: string, keyId: string): Promise<ItemKey[]> {
      return (await this.listVersions(tenantId, keyId)).map((v) =>
        itemKey.keyVersion(tenantId, keyId, v.version),
      )
    },
  }
}

export type KeyRepository = ReturnType<typeof createKeyRepository>
