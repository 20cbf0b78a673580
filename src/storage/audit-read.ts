import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { readBlock } from '../audit/blocks.ts'
import type { ChainHead } from '../audit/chain.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { queryAll } from './query-pages.ts'

/** The audit partition of a tenant (the layout is documented in audit-store.ts). */
export const auditPk = (tenantId: string) => `AUDIT#${tenantId}`

/** A listing's cursor: the sort key of the last event handed out, in the tenant's partition. */
export const encodeAuditCursor = (tenantId: string, sortKey: string): string | null =>
  encodeCursor({ pk: auditPk(tenantId), sk: sortKey })

/** The sort key a cursor continues from; refused unless it is one of the tenant's events. */
export function decodeAuditCursor(tenantId: string, cursor: string | undefined) {
  return decodeCursor(cursor, { pk: auditPk(tenantId), skPrefix: 'EVT#' })?.sk
}

export interface BlockQuery {
  lo: string
  hi: string
  nowSeconds: number
  descending?: boolean
  /** Strongly consistent: verify must see every event written before the heads it read. */
  consistent?: boolean
  limit: number
  startKey?: Record<string, unknown>
}

/** Reads of the audit partition; every read skips items whose `ttl` has passed. */
export function createAuditReader({
  doc,
  table,
}: {
  doc: Pick<DynamoDBDocumentClient, 'send'>
  table: string
}) {
  return {
    /** Blocks whose first event's key lies in [lo, hi], decompressed, in key order. */
    async queryBlocks(tenantId: string, query: BlockQuery) {
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          FilterExpression: '#ttl > :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':pk': auditPk(tenantId),
            ':lo': query.lo,
            ':hi': query.hi,
            ':now': query.nowSeconds,
          },
          ScanIndexForward: !query.descending,
          ConsistentRead: query.consistent ?? false,
          Limit: query.limit,
          ExclusiveStartKey: query.startKey,
        }),
      )
      const items = page.Items ?? []
      return {
        blocks: await Promise.all(items.map((item) => readBlock(String(item.sk), item.events))),
        lastKey: page.LastEvaluatedKey,
      }
    },

    /** Every chain head of the tenant that has not expired (consistent read). */
    async readHeads(tenantId: string, nowSeconds: number): Promise<ChainHead[]> {
      const heads: ChainHead[] = []
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :head)',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':pk': auditPk(tenantId),
          ':head': 'HEAD#',
          ':now': nowSeconds,
        },
        ConsistentRead: true,
      })
      for (const item of items) {
        const { chainId, seq, hash, lastTime, openedAt } = item as unknown as ChainHead
        heads.push({ tenantId, chainId, seq, hash, lastTime, openedAt })
      }
      return heads
    },
  }
}
