import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import type { AuditInput } from '../../src/audit/events.ts'
import type { Stack } from '../support/stack.ts'

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

/** Every audit item in the table (events and heads), straight from DynamoDB. */
export async function allAuditItems(stack: Stack): Promise<Array<Record<string, any>>> {
  const items: Array<Record<string, any>> = []
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
    items.push(...(page.Items ?? []))
    startKey = page.LastEvaluatedKey
  } while (startKey)
  return items
}

/** A tenant's event items in table order (oldest first). */
export async function eventItems(stack: Stack, tenantId: string) {
  const page = await stack.table.doc.send(
    new QueryCommand({
      TableName: stack.table.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
      ExpressionAttributeValues: { ':pk': `AUDIT#${tenantId}`, ':evt': 'EVT#' },
      ConsistentRead: true,
    }),
  )
  return (page.Items ?? []) as Array<Record<string, any>>
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
