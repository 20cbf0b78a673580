import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateTable } from '../../src/storage/migrations/index.ts'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  RELEASES,
  tableWrittenByPreviousRelease,
  upgrade,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

/**
 * Keys and tokens stored by the previous release had no due dates: after `migrate`, the
 * reminder scheduler finds them through the index and reminds of them like of new ones.
 */
describe('migrate: due dates for keys and tokens of the previous release', () => {
  let kms: LocalKms
  let table: TestTable
  let data: PreviousReleaseData
  let stack: Stack
  let receiver: WebhookReceiver

  beforeAll(async () => {
    ;({ kms, table, data } = await tableWrittenByPreviousRelease(RELEASES.first))
    const outcomes = await upgrade(table)
    expect(outcomes.find((o) => o.id === '004-due-dates')?.outcome).toBe('applied')
    stack = await startStack({ kms, table, env: { KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' } })
    receiver = await startWebhookReceiver()
  }, 120_000)

  afterAll(async () => {
    await receiver?.close()
    await stack?.close()
    await kms?.close()
  })

  it('puts every key and live access token in the index, and nothing else', async () => {
    const { Items = [] } = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :due',
        ExpressionAttributeValues: { ':due': 'DUE' },
      }),
    )
    const indexed = Items.map((i) => String(i.sk)).sort()
    const live = [...data.tokens.map((t) => t.id), data.childToken.id]
    expect(indexed).toEqual(
      [...data.keys.map((k) => `KEY#${k.id}`), ...live.map((id) => `TOKEN#${id}`)].sort(),
    )
  })

  it('fires the reminders already due for them, once', async () => {
    const api = client(stack.app)
    const hook = await api.post('/v1/webhooks', { url: receiver.url }, data.session)
    expect(hook.status).toBe(201)
    // Every token was minted for a day or less: its 1-day reminder is due at once.
    await stack.deps.reminders.runNow()
    await stack.deps.outbox.runNow()
    const events = receiver.received.map((m) => JSON.parse(m.body))
    expect(events.every((e) => e.type === 'token.expiring' && e.data.daysLeft === 1)).toBe(true)
    expect(events.map((e) => e.data.tokenId).sort()).toEqual(
      [...data.tokens.map((t) => t.id), data.childToken.id].sort(),
    )
    // A second pass (or a second run of the step) fires nothing more.
    await migrateTable(
      { dynamodb: table.client, doc: table.doc, table: table.tableName, log: () => {} },
      { force: true },
    )
    await stack.deps.reminders.runNow()
    await stack.deps.outbox.runNow()
    expect(receiver.received).toHaveLength(events.length)
  })
})
