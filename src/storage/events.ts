import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import type { OutboxEvent } from '../events/catalog.ts'
import { type DeliveryRecord, deliveryItem } from './deliveries.ts'
import { eventPut } from './outbox.ts'

/**
 * Writes events that are not part of another write: a test event straight to its delivery, or
 * an event whose cause was an outside system (a KMS key found unreachable).
 */
export function createEventWriter({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  return {
    async publish(event: OutboxEvent): Promise<void> {
      await doc.send(new TransactWriteCommand({ TransactItems: [eventPut(table, event)] }))
    },
    /** A delivery with no event to fan out (a test message for one endpoint). */
    async enqueueDelivery(delivery: DeliveryRecord): Promise<void> {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: deliveryItem(delivery),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      )
    },
  }
}

export type EventWriter = ReturnType<typeof createEventWriter>
