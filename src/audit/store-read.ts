import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { queryAll } from '../storage/query-pages.ts'
import { readBlock } from './blocks.ts'
import type { ChainHead } from './chain.ts'
import type { AuditEvent } from './events.ts'

/** The audit partition of a tenant (the layout is documented in store.ts). */
export const auditPk = (tenantId: string) => `AUDIT#${tenantId}`

const EVENT_FIELDS = [
  'id',
  'tenantId',
  'time',
  'action',
  'actor',
  'target',
  'outcome',
  'requestId',
  'client',
  'details',
  'chain',
  'hash',
] as const

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

/** An event as read back from a block: exactly the hashed fields, nothing else. */
export function toEvent(entry: unknown): AuditEvent {
  const item = entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : {}
  const out: Record<string, unknown> = {}
  for (const field of EVENT_FIELDS) out[field] = item[field] ?? null
  // Hashed only when present (chain.ts): events recorded before trace ids have none.
  if (typeof item.traceId === 'string') out.traceId = item.traceId
  return out as unknown as AuditEvent
}
