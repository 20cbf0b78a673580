import { TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb'
import type { SealedRecord } from '../crypto/record.ts'
import { AppError } from '../errors.ts'
import type { OutboxEvent } from '../events/catalog.ts'
import { isId } from '../ids.ts'
import type { Provider, ValueShape } from '../mock/fake-values.ts'
import type { ModeSettings } from '../mock/resolve-mode.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { DUE, dueAttributes } from './due-index.ts'
import { type ItemKey, itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'

/** One sealed version of a key's value, and what mock mode may know about it. */
export interface StoredVersion {
  version: number
  sealed: SealedRecord
  /** Length and character classes, kept only for generic keys (their fakes mirror it). */
  shape?: ValueShape
  createdAt: string
}

export interface KeyRecord {
  tenantId: string
  keyId: string
  name: string
  provider: Provider
  description?: string
  tags: string[]
  currentVersion: number
  createdAt: string
  updatedAt: string
  lastUsedAt?: string
  mockOverrides?: ModeSettings
  /** When the provider key itself stops working (the provider's expiry, not ours). */
  expiresAt?: string
  /** A person replaces the provider key this often; `rotationDueAt` follows from it. */
  rotateEveryDays?: number
  /** The current version's creation plus `rotateEveryDays`. */
  rotationDueAt?: string
  current: StoredVersion
}

export interface KeyMetadataUpdate {
  /** null removes the description. */
  description?: string | null
  tags?: string[]
  provider?: Provider
  mockOverrides?: ModeSettings
  /** null removes it. */
  expiresAt?: string | null
  rotateEveryDays?: number | null
  rotationDueAt?: string | null
}

/** Listing filters; each is a moment already worked out by the caller. */
export interface KeyListFilters {
  provider?: string
  tag?: string
  /** Keys whose provider key expires at or before this moment (expired ones included). */
  expiringBefore?: string
  /** Keys whose replacement was due at or before this moment. */
  rotationDueBefore?: string
  /** Keys not used since this moment (and created before it). */
  unusedSince?: string
  neverUsed?: boolean
}

/** What reminders depend on, besides use (see domain/reminders.ts). */
const LIFETIME_FIELDS = ['expiresAt', 'rotateEveryDays', 'rotationDueAt'] as const

const KEY_FIELDS = [
  'tenantId',
  'keyId',
  'name',
  'provider',
  'description',
  'tags',
  'currentVersion',
  'createdAt',
  'updatedAt',
  'lastUsedAt',
  'mockOverrides',
  'expiresAt',
  'rotateEveryDays',
  'rotationDueAt',
  'current',
] as const

export function toKeyRecord(item: Record<string, unknown>): KeyRecord {
  const out: Record<string, unknown> = {}
  for (const field of KEY_FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as KeyRecord
}

/** The item a reference names: a key id (`key_...`) or a key name. */
export function keyRefItem(tenantId: string, ref: string): ItemKey {
  return isId('key', ref) ? itemKey.key(tenantId, ref) : itemKey.keyName(tenantId, ref)
}

const isConditionFailure = (error: unknown) =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')

/** Another transaction (a writer, or the re-encryption job) held one of the items. */
const isTransactionConflict = (error: unknown) =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict')

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
      try {
        await doc.send(
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
        )
      } catch (error) {
        if (isConditionFailure(error)) {
          throw new AppError('conflict', `A key named ${record.name} already exists.`, {
            extra: { name: record.name },
          })
        }
        throw error
      }
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
      const items: KeyRecord[] = []
      let startKey = decodeCursor(cursor, { pk, skPrefix: 'KEYNAME#' }) as
        | Record<string, unknown>
        | undefined
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
            ExpressionAttributeValues: values,
            Limit: limit - items.length,
            ExclusiveStartKey: startKey,
          }),
        )
        for (const item of page.Items ?? []) items.push(toKeyRecord(item))
        startKey = page.LastEvaluatedKey
      } while (startKey && items.length < limit)
      return { items, nextCursor: encodeCursor(startKey) }
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
      try {
        await doc.send(
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
        )
      } catch (error) {
        if (isConditionFailure(error) || isTransactionConflict(error)) throw new VersionConflict()
        throw error
      }
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
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: both(record).map((key, i) => {
              const due = lifetimeChanged && i === 0
              return {
                Update: {
                  TableName: table,
                  Key: key,
                  UpdateExpression: expression(
                    due ? ['gsi1pk = :dueIndex', 'gsi1sk = :dueAt'] : [],
                  ),
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
        )
      } catch (error) {
        if (isConditionFailure(error)) throw new AppError('not_found', 'No such key.')
        if (isTransactionConflict(error)) {
          throw new AppError(
            'conflict',
            'The key was being changed at the same moment; try again.',
            {
              headers: { 'retry-after': '1' },
            },
          )
        }
        throw error
      }
    },

    /**
     * Removes the key (both items) at once, with `events` in the same transaction, then every
     * version's ciphertext.
     */
    async delete(record: KeyRecord, events: OutboxEvent[] = []): Promise<void> {
      try {
        await doc.send(
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
        )
      } catch (error) {
        if (isConditionFailure(error)) throw new AppError('not_found', 'No such key.')
        throw error
      }
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
      let startKey: Record<string, unknown> | undefined
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: {
              ':pk': itemKey.org(tenantId).pk,
              ':prefix': `KEYVER#${keyId}#`,
            },
            ExclusiveStartKey: startKey,
          }),
        )
        for (const item of page.Items ?? []) out.push(toStoredVersion(item))
        startKey = page.LastEvaluatedKey
      } while (startKey)
      return out
    },

    async versionKeys(tenantId: string, keyId: string): Promise<ItemKey[]> {
      return (await this.listVersions(tenantId, keyId)).map((v) =>
        itemKey.keyVersion(tenantId, keyId, v.version),
      )
    },
  }
}

/**
 * The three items a new key is stored as: under its id, under its name, and its first version.
 * `create` writes them in one transaction; bulk loaders (tests, benchmarks) may batch them.
 */
export function newKeyItems(record: KeyRecord) {
  return [
    { ...itemKey.key(record.tenantId, record.keyId), type: 'key', ...record },
    { ...itemKey.keyName(record.tenantId, record.name), type: 'key', ...record },
    versionItem(record.tenantId, record.keyId, record.current),
  ]
}

/** The FilterExpression of a listing: every given filter must hold. */
function keyFilterExpression(filter: KeyListFilters) {
  const filters: string[] = []
  const values: Record<string, unknown> = {}
  if (filter.provider) {
    filters.push('provider = :provider')
    values[':provider'] = filter.provider
  }
  if (filter.tag) {
    filters.push('contains(tags, :tag)')
    values[':tag'] = filter.tag
  }
  if (filter.expiringBefore) {
    filters.push('expiresAt <= :expiringBefore')
    values[':expiringBefore'] = filter.expiringBefore
  }
  if (filter.rotationDueBefore) {
    filters.push('rotationDueAt <= :rotationDueBefore')
    values[':rotationDueBefore'] = filter.rotationDueBefore
  }
  if (filter.unusedSince) {
    filters.push(
      '(lastUsedAt < :unusedSince OR (attribute_not_exists(lastUsedAt) AND createdAt < :unusedSince))',
    )
    values[':unusedSince'] = filter.unusedSince
  }
  if (filter.neverUsed) filters.push('attribute_not_exists(lastUsedAt)')
  return { filters, values }
}

function versionItem(tenantId: string, keyId: string, version: StoredVersion) {
  return {
    ...itemKey.keyVersion(tenantId, keyId, version.version),
    type: 'key-version',
    keyId,
    ...version,
  }
}

function toStoredVersion(item: Record<string, unknown>): StoredVersion {
  const { version, sealed, shape, createdAt } = item as unknown as StoredVersion
  return { version, sealed, createdAt, ...(shape ? { shape } : {}) }
}

export type KeyRepository = ReturnType<typeof createKeyRepository>
