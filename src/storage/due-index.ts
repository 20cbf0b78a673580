import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb'
import type { OutboxEvent } from '../events/catalog.ts'
import { writeIf } from './conditional-write.ts'
import type { ItemKey } from './keys.ts'
import { eventPut } from './outbox.ts'

/**
 * The index of due dates: an API key's `KEY#` item and an access token's item sit in `gsi1`
 * under `DUE`, sorted by when the reminder scheduler must next look at them. Writers that
 * change what reminders depend on (an expiry, a replacement policy, a new version) only mark
 * the item as due now; the scheduler works out the real date (domain/reminders.ts).
 */
export const DUE = 'DUE'

export const dueSortKey = (dueAt: string, key: ItemKey) => `${dueAt}#${key.pk}#${key.sk}`

/** The index attributes that make `key` due at `dueAt`. */
export const dueAttributes = (dueAt: string, key: ItemKey) => ({
  gsi1pk: DUE,
  gsi1sk: dueSortKey(dueAt, key),
})

/** Due items and their settlement, for the reminder scheduler. */
export function createDueIndex({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  return {
    /** Items due at `now`, earliest first (a range read of the index: no scan). */
    async due(now: string, limit: number): Promise<Record<string, unknown>[]> {
      const { Items } = await doc.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :due AND gsi1sk <= :upTo',
          ExpressionAttributeValues: { ':due': DUE, ':upTo': `${now}~` },
          Limit: limit,
        }),
      )
      return Items ?? []
    },

    /**
     * Stores what was sent and the next due date, with the events, in one transaction that
     * holds only if nobody settled or changed the item since it was read (its place in the
     * index is unchanged). False when that was not so: another instance fired these
     * reminders, or the item changed and is due again. `item` is one that `due` returned.
     */
    async settle(
      item: Record<string, unknown>,
      { sent, nextDueAt }: { sent: string[]; nextDueAt?: string },
      events: OutboxEvent[],
    ): Promise<boolean> {
      const key: ItemKey = { pk: item.pk as string, sk: item.sk as string }
      const seenSortKey = item.gsi1sk as string
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: key,
                UpdateExpression: nextDueAt
                  ? 'SET remindersSent = :sent, gsi1sk = :next'
                  : 'SET remindersSent = :sent REMOVE gsi1pk, gsi1sk',
                ConditionExpression: 'gsi1sk = :seen',
                ExpressionAttributeValues: {
                  ':sent': sent,
                  ':seen': seenSortKey,
                  ...(nextDueAt ? { ':next': dueSortKey(nextDueAt, key) } : {}),
                },
              },
            },
            ...events.map((event) => eventPut(table, event)),
          ],
        }),
        { anyCancellation: true },
      )
    },
  }
}

export type DueIndex = ReturnType<typeof createDueIndex>
