import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { SealedRecord } from '../crypto/record.ts'
import { itemKey } from './keys.ts'
import { queryAll } from './query-pages.ts'
import { parseVersionSk } from './rewrap-store.ts'
import { writeSealedCopies } from './sealed-record-write.ts'

/**
 * What the re-keying job reads and writes: a key version's whole sealed record (a fresh data
 * key means a fresh IV and ciphertext too), in its `KEYVER#` item and, while it is the key's
 * current version, in the key's two items. Each re-seal stamps the record with `sealedAt` and
 * the next `recordVersion` (1 for a record never re-keyed); a version without `sealedAt` was
 * sealed when it was created, so records written before re-keying existed need no backfill.
 */
export interface RekeyCopy {
  sealed: SealedRecord
  recordVersion: number
  /** When its data key was made: the last re-key, else the version's creation. */
  sealedAt: string
}

export interface RekeyState {
  version?: RekeyCopy
  /** The key's items, when they carry this version as their current one. */
  current?: RekeyCopy & { name: string }
}

/** Pending: sealed before `before` (an ISO time), whether at creation or by an earlier re-key. */
const PENDING =
  '(attribute_not_exists(sealedAt) AND createdAt < :before) OR (attribute_exists(sealedAt) AND sealedAt < :before)'

export function createRekeyStore({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  const copyOf = (holder: unknown): RekeyCopy | undefined => {
    const h = holder as
      | { sealed?: SealedRecord; recordVersion?: number; sealedAt?: string; createdAt?: string }
      | undefined
    if (!h?.sealed?.wrappedDek) return undefined
    return {
      sealed: h.sealed,
      recordVersion: h.recordVersion ?? 1,
      sealedAt: h.sealedAt ?? h.createdAt ?? '',
    }
  }

  return {
    /** One page of key versions sealed before `before`, after `cursor` (a sort key). */
    async pendingPage(tenantId: string, before: string, cursor: string | undefined, limit: number) {
      const pk = itemKey.org(tenantId).pk
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: PENDING,
          ExpressionAttributeValues: { ':pk': pk, ':prefix': 'KEYVER#', ':before': before },
          ProjectionExpression: 'sk',
          ...(cursor ? { ExclusiveStartKey: { pk, sk: cursor } } : {}),
          Limit: limit,
          ConsistentRead: true,
        }),
      )
      const records = (page.Items ?? []).flatMap((item) => parseVersionSk(String(item.sk)) ?? [])
      return { records, next: page.LastEvaluatedKey?.sk as string | undefined }
    },

    /** How many key versions the tenant has, and how many were sealed at or after `before`. */
    async count(tenantId: string, before: string): Promise<{ total: number; done: number }> {
      let total = 0
      let done = 0
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': itemKey.org(tenantId).pk, ':prefix': 'KEYVER#' },
        ProjectionExpression: 'sealedAt, createdAt',
      })
      for (const item of items) {
        total++
        if (String(item.sealedAt ?? item.createdAt) >= before) done++
      }
      return { total, done }
    },

    async read(tenantId: string, keyId: string, version: number): Promise<RekeyState> {
      const versionKey = itemKey.keyVersion(tenantId, keyId, version)
      const keyKey = itemKey.key(tenantId, keyId)
      const { Responses } = await doc.send(
        new BatchGetCommand({
          RequestItems: { [table]: { Keys: [versionKey, keyKey], ConsistentRead: true } },
        }),
      )
      const items = Responses?.[table] ?? []
      const versionItem = items.find((i) => i.sk === versionKey.sk)
      const keyItem = items.find((i) => i.sk === keyKey.sk)
      const state: RekeyState = {}
      const own = copyOf(versionItem)
      if (own) state.version = own
      const current = copyOf(keyItem?.current)
      if (keyItem && keyItem.currentVersion === version && current) {
        state.current = { ...current, name: String(keyItem.name) }
      }
      return state
    },

    /**
     * Replaces sealed records, each on condition that it still holds the wrapped key it was
     * read with; false (nothing written) when any changed meanwhile. The old record, and with
     * it the old wrapped data key, is gone from the table once this returns true.
     */
    async commit(
      tenantId: string,
      keyId: string,
      version: number,
      writes: {
        version?: [RekeyCopy, RekeyCopy]
        current?: [RekeyCopy, RekeyCopy, string]
      },
    ): Promise<boolean> {
      return writeSealedCopies(doc, table, { tenantId, keyId, version }, writes, (old, next) => ({
        oldWrappedDek: old.sealed.wrappedDek,
        set: { sealed: next.sealed, sealedAt: next.sealedAt, recordVersion: next.recordVersion },
      }))
    },
  }
}

export type RekeyStore = ReturnType<typeof createRekeyStore>
