import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it, vi } from 'vitest'
import { createLogger } from '../../src/logger.ts'
import { itemKey } from '../../src/storage/keys.ts'
import { createLastUsedTracker } from '../../src/storage/last-used.ts'

// The writes themselves (conditional update, failures logged) are covered against DynamoDB Local
// in test/integration/revocation-and-last-used.test.ts; this is the bookkeeping in front of them.
function setup() {
  let now = Date.UTC(2030, 0, 1)
  const sent: Array<{ Key: unknown; ExpressionAttributeValues: Record<string, string> }> = []
  const doc = {
    send: vi.fn(async (command: { input: (typeof sent)[number] }) => {
      sent.push(command.input)
      return {}
    }),
  } as unknown as DynamoDBDocumentClient
  const tracker = createLastUsedTracker({
    doc,
    table: 't',
    clock: { now: () => now },
    logger: createLogger({ level: 'silent' }),
  })
  const advance = (ms: number) => {
    now += ms
  }
  return { tracker, sent, advance }
}

describe('last-used tracker', () => {
  it('writes an item at most once a minute', async () => {
    const { tracker, sent, advance } = setup()
    const key = itemKey.token('org_1', 'tok_1')
    tracker.touch(key)
    tracker.touch({ ...key })
    advance(59_999)
    tracker.touch(key)
    await tracker.settled()
    expect(sent).toHaveLength(1)
    advance(1)
    tracker.touch(key)
    await tracker.settled()
    expect(sent.map((input) => input.Key)).toEqual([key, key])
    expect(sent[1]?.ExpressionAttributeValues[':at']).toBe(
      new Date(Date.UTC(2030, 0, 1, 0, 1)).toISOString(),
    )
  })

  it('touchFor asks for a record object’s items once a minute, and a new object asks again', async () => {
    const { tracker, sent, advance } = setup()
    const record = { tenantId: 'org_1', keyId: 'key_1', name: 'openai' }
    const keys = vi.fn(() => [
      itemKey.key(record.tenantId, record.keyId),
      itemKey.keyName(record.tenantId, record.name),
    ])
    for (let i = 0; i < 3; i++) tracker.touchFor(record, keys)
    await tracker.settled()
    expect(keys).toHaveBeenCalledTimes(1)
    expect(sent.map((input) => input.Key)).toEqual([
      { pk: 'ORG#org_1', sk: 'KEY#key_1' },
      { pk: 'ORG#org_1', sk: 'KEYNAME#openai' },
    ])

    // The same record read anew (a new object) asks again; the minute still applies per item.
    tracker.touchFor({ ...record }, keys)
    await tracker.settled()
    expect(keys).toHaveBeenCalledTimes(2)
    expect(sent).toHaveLength(2)

    // A record object remembered for longer asks again once a minute has passed.
    advance(59_999)
    tracker.touchFor(record, keys)
    expect(keys).toHaveBeenCalledTimes(2)
    advance(1)
    tracker.touchFor(record, keys)
    await tracker.settled()
    expect(keys).toHaveBeenCalledTimes(3)
    expect(sent).toHaveLength(4)
  })
})
