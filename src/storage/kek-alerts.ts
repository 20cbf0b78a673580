import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import type { OutboxEvent } from '../events/catalog.ts'
import { writeIf } from './conditional-write.ts'
import { eventPut } from './outbox.ts'

/** One `encryption.key_unreachable` per tenant per this long, however many reads fail. */
export const KEK_ALERT_INTERVAL_MS = 24 * 3600_000

/**
 * Records that a tenant's own KMS key could not be used, with its event, at most once per
 * interval across every instance: a conditional write on one small item per tenant carries
 * the event, so a thousand failing reads make one event.
 */
export function createKekAlertStore({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    /** False when an alert went out within the interval (nothing written). */
    async raise(event: OutboxEvent, now: number): Promise<boolean> {
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: { pk: `ORG#${event.tenantId}`, sk: 'KEKALERT' },
                UpdateExpression: 'SET lastAlertAt = :now, #type = :type',
                ConditionExpression: 'attribute_not_exists(lastAlertAt) OR lastAlertAt < :since',
                ExpressionAttributeNames: { '#type': 'type' },
                ExpressionAttributeValues: {
                  ':now': now,
                  ':since': now - KEK_ALERT_INTERVAL_MS,
                  ':type': 'kek-alert',
                },
              },
            },
            eventPut(table, event),
          ],
        }),
        { anyCancellation: true },
      )
    },
  }
}

export type KekAlertStore = ReturnType<typeof createKekAlertStore>
