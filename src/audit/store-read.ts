import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
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

export interface EventQuery {
  lo: string
  hi: string
  nowSeconds: number
  descending?: boolean
  /** Strongly consistent: verify must see every event written before the heads it read. */
  consistent?: boolean
  limit: number
  startKey?: Record<string, unknown>
  filter?: { action?: string; actorId?: string; targetType?: string; targetId?: string }
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
    async queryEvents(tenantId: string, query: EventQuery) {
      const names: Record<string, string> = { '#ttl': 'ttl' }
      const values: Record<string, unknown> = {
        ':pk': auditPk(tenantId),
        ':lo': query.lo,
        ':hi': query.hi,
        ':now': query.nowSeconds,
      }
      const conditions = ['#ttl > :now']
      const { action, actorId, targetType, targetId } = query.filter ?? {}
      if (action !== undefined) {
        names['#action'] = 'action'
        values[':action'] = action.endsWith('.*') ? action.slice(0, -1) : action
        conditions.push(
          action.endsWith('.*') ? 'begins_with(#action, :action)' : '#action = :action',
        )
      }
      const nested = (parent: string, child: string, key: string, value: string | undefined) => {
        if (value === undefined) return
        Object.assign(names, { [`#${parent}`]: parent, [`#${child}`]: child })
        values[key] = value
        conditions.push(`#${parent}.#${child} = ${key}`)
      }
      nested('actor', 'id', ':actorId', actorId)
      nested('target', 'type', ':targetType', targetType)
      nested('target', 'id', ':targetId', targetId)
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          FilterExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: !query.descending,
          ConsistentRead: query.consistent ?? false,
          Limit: query.limit,
          ExclusiveStartKey: query.startKey,
        }),
      )
      return {
        items: (page.Items ?? []).map((item) => ({
          event: toEvent(item),
          sortKey: String(item.sk),
        })),
        lastKey: page.LastEvaluatedKey,
      }
    },

    /** Every chain head of the tenant that has not expired (consistent read). */
    async readHeads(tenantId: string, nowSeconds: number): Promise<ChainHead[]> {
      const heads: ChainHead[] = []
      let startKey: Record<string, unknown> | undefined
      do {
        const page = await doc.send(
          new QueryCommand({
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
            ExclusiveStartKey: startKey,
          }),
        )
        for (const item of page.Items ?? []) {
          const { chainId, seq, hash, lastTime, openedAt } = item as ChainHead
          heads.push({ tenantId, chainId, seq, hash, lastTime, openedAt })
        }
        startKey = page.LastEvaluatedKey
      } while (startKey)
      return heads
    },
  }
}

/** An event as read back: exactly the hashed fields, nothing the table added. */
export function toEvent(item: Record<string, unknown>): AuditEvent {
  const out: Record<string, unknown> = {}
  for (const field of EVENT_FIELDS) out[field] = item[field] ?? null
  return out as unknown as AuditEvent
}
