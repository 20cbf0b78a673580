import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it } from 'vitest'
import { createUsageCounter } from '../../src/storage/usage.ts'
import { captureLogs } from '../support/log-capture.ts'

function fakeDoc(fail: { next: boolean }) {
  const writes: { sk: string; n: number }[] = []
  const doc = {
    send: async (command: { input: any }) => {
      if (fail.next) {
        fail.next = false
        throw Object.assign(new Error('down'), { name: 'ServiceUnavailable' })
      }
      writes.push({ sk: command.input.Key.sk, n: command.input.ExpressionAttributeValues[':n'] })
      return {}
    },
  } as unknown as DynamoDBDocumentClient
  return { doc, writes }
}

describe('the usage counter', () => {
  const day = Date.parse('2026-12-06T10:00:00Z')

  it('writes each moved counter once per flush, and keeps a failed write’s count', async () => {
    let now = day
    const fail = { next: false }
    const { doc, writes } = fakeDoc(fail)
    const { logger, text } = captureLogs('debug')
    const usage = createUsageCounter({ doc, table: 't', clock: { now: () => now }, logger })
    const record = {}
    const principal = {}
    for (let i = 0; i < 1000; i++) {
      usage.count(record, 'org_1', 'key', 'key_1')
      usage.count(principal, 'org_1', 'token', 'tok_1')
    }
    fail.next = true
    await usage.flush()
    expect(writes).toEqual([{ sk: 'USAGE#2026-12-06#token#tok_1', n: 1000 }])
    expect(text()).toContain('usage counter write failed')

    usage.count(record, 'org_1', 'key', 'key_1')
    await usage.flush()
    expect(writes.slice(1)).toEqual([{ sk: 'USAGE#2026-12-06#key#key_1', n: 1001 }])

    // After midnight (UTC) the same record counts into the next day's item.
    now = day + 86400_000
    usage.count(record, 'org_1', 'key', 'key_1')
    await usage.flush()
    expect(writes.slice(2)).toEqual([{ sk: 'USAGE#2026-12-07#key#key_1', n: 1 }])
    await usage.flush()
    expect(writes).toHaveLength(3)
  })
})
