import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { KekRef } from '../kms/key-provider.ts'
import { itemKey } from './keys.ts'
import { queryAll } from './query-pages.ts'
import { writeSealedCopies } from './sealed-record-write.ts'

/**
 * What the re-encryption job reads and writes. A key version's sealed value lives in its
 * `KEYVER#` item and, while it is the current version, also in the key's two items (`KEY#`,
 * `KEYNAME#`: see keys-repo.ts). Only `wrappedDek` and `kek` change: `iv` and `ct` are never
 * written, so the value ciphertext stays byte for byte what it was.
 */
export interface SealedCopy {
  wrappedDek: Uint8Array
  kek: KekRef
}

export interface RewrapState {
  version?: SealedCopy
  /** The key's items, when they carry this version as their current one. */
  current?: SealedCopy & { name: string }
}

export interface PendingRecord {
  keyId: string
  version: number
  sk: string
}

const VERSION_SK = /^KEYVER#(.+)#(\d{9})$/

/** The key and version a `KEYVER#` sort key names; undefined for anything else. */
export function parseVersionSk(sk: string): PendingRecord | undefined {
  const match = VERSION_SK.exec(sk)
  return match?.[1] ? { keyId: match[1], version: Number(match[2]), sk } : undefined
}

export function createRewrapStore({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  const sealedOf = (value: unknown): SealedCopy | undefined => {
    const sealed = value as { wrappedDek?: Uint8Array; kek?: KekRef } | undefined
    return sealed?.wrappedDek && sealed.kek
      ? { wrappedDek: sealed.wrappedDek, kek: sealed.kek }
      : undefined
  }

  return {
    /**
     * One page of key versions not yet under `target`, after `cursor` (a sort key). The
     * filter runs after the page limit, so a page may hold fewer records than `limit`, or
     * none while `next` is still set.
     */
    async pendingPage(tenantId: string, target: number, cursor: string | undefined, limit: number) {
      const pk = itemKey.org(tenantId).pk
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: '#sealed.#kek.#version <> :target',
          ExpressionAttributeNames: { '#sealed': 'sealed', '#kek': 'kek', '#version': 'version' },
          ExpressionAttributeValues: { ':pk': pk, ':prefix': 'KEYVER#', ':target': target },
          ProjectionExpression: 'sk',
          ...(cursor ? { ExclusiveStartKey: { pk, sk: cursor } } : {}),
          Limit: limit,
          ConsistentRead: true,
        }),
      )
      const records = (page.Items ?? []).flatMap((item) => parseVersionSk(String(item.sk)) ?? [])
      return { records, next: page.LastEvaluatedKey?.sk as string | undefined }
    },

    /** How many key versions the tenant has, and how many are already under `target`. */
    async count(tenantId: string, target: number): Promise<{ total: number; done: number }> {
      let total = 0
      let done = 0
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeNames: { '#sealed': 'sealed', '#kek': 'kek', '#version': 'version' },
        ExpressionAttributeValues: { ':pk': itemKey.org(tenantId).pk, ':prefix': 'KEYVER#' },
        ProjectionExpression: '#sealed.#kek.#version',
      })
      for (const item of items) {
        total++
        if ((item.sealed as { kek?: KekRef } | undefined)?.kek?.version === target) done++
      }
      return { total, done }
    },

    async read(tenantId: string, keyId: string, version: number): Promise<RewrapState> {
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
      const state: RewrapState = {}
      const sealed = sealedOf(versionItem?.sealed)
      if (sealed) state.version = sealed
      const current = keyItem?.current as { version?: number; sealed?: unknown } | undefined
      const currentSealed = sealedOf(current?.sealed)
      if (keyItem && keyItem.currentVersion === version && currentSealed) {
        state.current = { ...currentSealed, name: String(keyItem.name) }
      }
      return state
    },

    /**
     * Writes re-wrapped copies, each on condition that it still holds the wrapped key it was
     * read with; false (nothing written) when any changed meanwhile.
     */
    async commit(
      tenantId: string,
      keyId: string,
      version: number,
      writes: { version?: [SealedCopy, SealedCopy]; current?: [SealedCopy, SealedCopy, string] },
    ): Promise<boolean> {
      return writeSealedCopies(doc, table, { tenantId, keyId, version }, writes, (old, next) => ({
        oldWrappedDek: old.wrappedDek,
        set: { 'sealed.wrappedDek': next.wrappedDek, 'sealed.kek': next.kek },
      }))
    },
  }
}

export type RewrapStore = ReturnType<typeof createRewrapStore>
