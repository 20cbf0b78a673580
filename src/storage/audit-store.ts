import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb'
import { compressBlock, type EncodedBlock } from '../audit/blocks.ts'
import type { ChainHead } from '../audit/chain.ts'
import { auditPk, createAuditReader } from './audit-read.ts'

export type { BlockQuery } from './audit-read.ts'

/**
 * Audit items live in the main table, in a partition of their own per tenant (`AUDIT#<org>`),
 * away from the tenant's hot `ORG#` partition that every key read touches:
 *
 * | item        | pk               | sk                                              |
 * |-------------|------------------|-------------------------------------------------|
 * | block       | `AUDIT#<orgId>`  | `EVT#<ISO time>#<chainId>#<seq:12>` (first event)|
 * | chain head  | `AUDIT#<orgId>`  | `HEAD#<chainId>`                                |
 *
 * A block (audit/blocks.ts) holds consecutive events of one chain in `events`, gzip-compressed
 * JSON; `chainId`, `firstSeq`, `lastSeq`, `count` and `lastTime` are there for people reading
 * the table, and nothing trusts them. Both kinds carry `ttl` (last time + retention).
 * DynamoDB Local never expires items and AWS may take days, so readers also filter on time.
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
  async function blockItem(block: EncodedBlock): Promise<Item> {
    const first = block.events[0]
    const last = block.events[block.events.length - 1]
    if (!first || !last) throw new Error('an empty audit block')
    return {
      pk: auditPk(block.tenantId),
      sk: block.sortKey,
      type: 'audit-block',
      chainId: block.chainId,
      firstSeq: first.chain.seq,
      lastSeq: last.chain.seq,
      count: block.events.length,
      lastTime: last.time,
      events: await compressBlock(block),
      ttl: ttlOf(last.time),
    }
  }
  const headItem = (head: ChainHead): Item => ({
    pk: auditPk(head.tenantId),
    sk: `HEAD#${head.chainId}`,
    type: 'audit-head',
    ...head,
    ttl: ttlOf(head.lastTime),
  })

  /** BatchWriteItem, 25 at a time, retrying errors and UnprocessedItems with backoff. */
  async function batchPut<T>(entries: T[], toItem: (entry: T) => Item | Promise<Item>) {
    for (let start = 0; start < entries.length; start += 25) {
      const chunk = await Promise.all(
        entries
          .slice(start, start + 25)
          .map(async (entry) => ({ entry, item: await toItem(entry) })),
      )
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
    /** Throws AuditWriteError listing the blocks not known to be written, in order. */
    putBlocks: (blocks: EncodedBlock[]) => batchPut(blocks, blockItem),
    putHeads: (heads: ChainHead[]) => batchPut(heads, headItem),

    /** One block, in one request, refused if its place is taken (strict mode's commit). */
    async putBlock(block: EncodedBlock): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: await blockItem(block),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    ...createAuditReader({ doc, table }),
  }
}

export type AuditStore = ReturnType<typeof createAuditStore>
