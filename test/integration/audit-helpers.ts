import { gunzipSync, gzipSync } from 'node:zlib'
import { DeleteCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { eventSortKey } from '../../src/audit/chain.ts'
import type { AuditInput } from '../../src/audit/events.ts'
import type { Stack } from '../support/stack.ts'

type Item = Record<string, any>

/** The events a block item holds, decompressed straight from the item (no product code). */
export const eventsOf = (item: Item): Item[] =>
  JSON.parse(gunzipSync(Buffer.from(item.events)).toString('utf8'))

/** A clock the test moves by hand: events get distinct, predictable times without sleeping. */
export function manualClock(start = Date.now()) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

/**
 * Every audit item in the table, straight from DynamoDB: heads as stored, and each block's
 * events decompressed (so a search of them is not defeated by the compression).
 */
export async function allAuditItems(stack: Stack): Promise<Item[]> {
  const items: Item[] = []
  let startKey: Record<string, unknown> | undefined
  do {
    const page = await stack.table.doc.send(
      new ScanCommand({
        TableName: stack.table.tableName,
        FilterExpression: 'begins_with(pk, :audit)',
        ExpressionAttributeValues: { ':audit': 'AUDIT#' },
        ExclusiveStartKey: startKey,
      }),
    )
    for (const item of page.Items ?? []) {
      if (item.type === 'audit-block') items.push({ ...item, events: null }, ...eventsOf(item))
      else items.push(item)
    }
    startKey = page.LastEvaluatedKey
  } while (startKey)
  return items
}

/** A tenant's block items in table order (oldest first). */
export async function blockItems(stack: Stack, tenantId: string): Promise<Item[]> {
  const page = await stack.table.doc.send(
    new QueryCommand({
      TableName: stack.table.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
      ExpressionAttributeValues: { ':pk': `AUDIT#${tenantId}`, ':evt': 'EVT#' },
      ConsistentRead: true,
    }),
  )
  return page.Items ?? []
}

/** A tenant's events as stored, in table order (oldest first). */
export async function eventItems(stack: Stack, tenantId: string): Promise<Item[]> {
  return (await blockItems(stack, tenantId)).flatMap(eventsOf)
}

/**
 * Tampering as someone with write access to the table would: rewrites the block that holds
 * `eventId`, storing what `change` returns instead of its events (nothing: the item goes).
 * `sortKey` moves the block (default: where it was).
 */
export async function tamperBlock(
  stack: Stack,
  tenantId: string,
  eventId: string,
  change: (events: Item[]) => Item[],
  sortKey?: (events: Item[]) => string,
) {
  const block = (await blockItems(stack, tenantId)).find((item) =>
    eventsOf(item).some((event) => event.id === eventId),
  )
  if (!block) throw new Error(`no block holds ${eventId}`)
  const TableName = stack.table.tableName
  const changed = change(eventsOf(block))
  const sk = sortKey ? sortKey(changed) : block.sk
  if (sk !== block.sk || changed.length === 0) {
    await stack.table.doc.send(
      new DeleteCommand({ TableName, Key: { pk: block.pk, sk: block.sk } }),
    )
  }
  if (changed.length === 0) return
  const events = gzipSync(JSON.stringify(changed))
  await stack.table.doc.send(new PutCommand({ TableName, Item: { ...block, sk, events } }))
}

/** Stores `events` as a block of their own, as a forger would. */
export async function insertBlock(stack: Stack, tenantId: string, events: Item[]) {
  const first = events[0] as Item
  await stack.table.doc.send(
    new PutCommand({
      TableName: stack.table.tableName,
      Item: {
        pk: `AUDIT#${tenantId}`,
        sk: eventSortKey(first as never),
        type: 'audit-block',
        events: gzipSync(JSON.stringify(events)),
        ttl: Math.floor(Date.parse(first.time) / 1000) + 86400,
      },
    }),
  )
}

/** Records n events for a tenant, one simulated second apart, and writes them out. */
export async function recordEvents(
  stack: Stack,
  clock: { advance(ms: number): void },
  tenantId: string,
  n: number,
  input: (i: number) => Partial<AuditInput> = () => ({}),
) {
  for (let i = 1; i <= n; i++) {
    clock.advance(1000)
    await stack.deps.audit.record({
      tenantId,
      action: 'key.value.read',
      actor: { type: 'token', id: `tok_reader${i % 3}`, name: 'reader' },
      target: { type: 'key', id: `key_${i % 2}`, name: `key-${i % 2}` },
      outcome: { result: 'success' },
      requestId: `req_test_${i}`,
      client: { address: '192.0.2.1', userAgent: 'audit-test' },
      details: { n: i, version: 1, environment: 'production', mode: 'live' },
      ...input(i),
    })
  }
  await stack.deps.audit.flush()
}

/** Parses an NDJSON body into objects, refusing a line that is not JSON. */
export const parseNdjson = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, any>)

/**
 * Fault injection at the SDK: while `failing` is set, every write that touches an audit item
 * fails, as it would if DynamoDB refused them; reads and every other write go through.
 */
export function injectAuditWriteFaults(stack: Stack): { failing: boolean } {
  const faults = { failing: false }
  stack.table.client.middlewareStack.add(
    (next, context) => async (args) => {
      const write = /Write|Put|Update|Delete/.test(String(context.commandName))
      if (faults.failing && write && JSON.stringify(args.input).includes('AUDIT#')) {
        throw Object.assign(new Error('injected audit write failure'), {
          name: 'InternalServerError',
          $metadata: {},
        })
      }
      return next(args)
    },
    { step: 'initialize', name: 'auditWriteFault' },
  )
  return faults
}
