import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb'
import { type ChainHead, eventSortKey } from './chain.ts'
import type { AuditEvent } from './events.ts'
import { auditPk, createAuditReader } from './store-read.ts'

export { auditPk, type EventQuery, toEvent } from './store-read.ts'

/**
 * Audit items live in the main table, in a partition of their own per tenant (`AUDIT#<org>`),
 * away from the tenant's hot `ORG#` partition that every key read touches:
 *
 * | item        | pk               | sk                                    |
 * |-------------|------------------|---------------------------------------|
 * | event       | `AUDIT#<orgId>`  | `EVT#<ISO time>#<chainId>#<seq:12>`   |
 * | chain head  | `AUDIT#<orgId>`  | `HEAD#<chainId>`                      |
 *
 * Both carry `ttl` (time + retention). DynamoDB Local never expires items and AWS may take
 * days, so readers also filter on `ttl` themselves.
 */

type Item = Record<string, unknown> & { pk: string; sk: string }
const keyOf = (item: Item) => `${item.pk}|${item.sk}`

export class AuditWriteError extends Error {
  override readonly name = 'AuditWriteError'
  /** The entries not known to be written, in order. */
  readonly remaining: unknown[]
  constructor(remaining: unknown[], cause: unknown) {
    super(`${remaining.length} audit items could not be written`, { cause })
    this.remaining = remaining
  }
}

export interface AuditStoreOptions {
  doc: Pick<DynamoDBDocumentClient, 'send'>
  table: string
  retentionDays: number
  /** Attempts per batch, including the first (UnprocessedItems and errors alike). */
  attempts?: number
  sleep?: (ms: number) => Promise<void>
}

export function createAuditStore({
  doc,
  table,
  retentionDays,
  attempts = 6,
  sleep = (ms) => new Promise((done) => setTimeout(done, ms)),
}: AuditStoreOptions) {
  const ttlOf = (time: string) => Math.floor(Date.parse(time) / 1000) + retentionDays * 86400
  const eventItem = (event: AuditEvent): Item => ({
    pk: auditPk(event.tenantId),
    sk: eventSortKey(event),
    type: 'audit-event',
    ...event,
    ttl: ttlOf(event.time),
  })
  const headItem = (head: ChainHead): Item => ({
    pk: auditPk(head.tenantId),
    sk: `HEAD#${head.chainId}`,
    type: 'audit-head',
    ...head,
    ttl: ttlOf(head.lastTime),
  })

  /** BatchWriteItem, 25 at a time, retrying errors and UnprocessedItems with backoff. */
  async function batchPut<T>(entries: T[], toItem: (entry: T) => Item): Promise<void> {
    for (let start = 0; start < entries.length; start += 25) {
      const chunk = entries
        .slice(start, start + 25)
        .map((entry) => ({ entry, item: toItem(entry) }))
      let pending = chunk.map(({ item }) => item)
      let lastError: unknown
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= attempts) {
          const left = new Set(pending.map(keyOf))
          const unwritten = chunk.filter(({ item }) => left.has(keyOf(item)))
          const remaining = [...unwritten.map(({ entry }) => entry), ...entries.slice(start + 25)]
          throw new AuditWriteError(remaining, lastError)
        }
        if (attempt > 0) await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt))
        try {
          const requests = pending.map((Item) => ({ PutRequest: { Item } }))
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }))
          pending = (out.UnprocessedItems?.[table] ?? []).flatMap((request) =>
            request.PutRequest?.Item ? [request.PutRequest.Item as Item] : [],
          )
        } catch (error) {
          lastError = error
        }
      }
    }
  }

  return {
    /** Throws AuditWriteError listing the events not known to be written, in order. */
    putEvents: (events: AuditEvent[]) => batchPut(events, eventItem),
    putHeads: (heads: ChainHead[]) => batchPut(heads, headItem),

    /** Events and their chains' heads in one transaction (at most 100 items): all or none. */
    async putAtomically(events: AuditEvent[], heads: ChainHead[]): Promise<void> {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            ...events.map((event) => ({
              Put: {
                TableName: table,
                Item: eventItem(event),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
            ...heads.map((head) => ({ Put: { TableName: table, Item: headItem(head) } })),
          ],
        }),
      )
    },

    ...createAuditReader({ doc, table }),
  }
}

export type AuditStore = ReturnType<typeof createAuditStore>
