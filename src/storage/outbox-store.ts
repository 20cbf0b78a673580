import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { OutboxEvent } from '../events/catalog.ts'
import { sendConditional } from './conditional-write.ts'
import { type DeliveryAttempt, type DeliveryRecord, deliveryItem } from './deliveries.ts'
import { type ItemKey, itemKey } from './keys.ts'
import { OUTBOX, outboxSortKey } from './outbox.ts'

/** What the outbox index holds: an event still to fan out, or a delivery still to make. */
export type OutboxEntry =
  | { kind: 'event'; key: ItemKey; item: Record<string, unknown> }
  | { kind: 'delivery'; key: ItemKey; item: Record<string, unknown> }

export class LeaseLost extends Error {}

const leaseLost = (): never => {
  throw new LeaseLost()
}

/**
 * The delivery worker's view of the outbox. Every step holds a lease on its item (a conditional
 * write on `leaseOwner`/`leaseUntil`), so several instances share the work without handing one
 * message to its endpoint twice at the same time.
 */
export function createOutboxStore({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  const unlease = 'REMOVE leaseOwner, leaseUntil'
  return {
    /** Entries due at `now`, oldest first (a range read of the index: no scan). */
    async due(now: string, limit: number): Promise<OutboxEntry[]> {
      const { Items } = await doc.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :outbox AND gsi1sk <= :upTo',
          ExpressionAttributeValues: { ':outbox': OUTBOX, ':upTo': `${now}~` },
          Limit: limit,
        }),
      )
      return (Items ?? []).flatMap((item): OutboxEntry[] => {
        const key = { pk: item.pk as string, sk: item.sk as string }
        if (item.type === 'event') return [{ kind: 'event', key, item }]
        if (item.type === 'delivery') return [{ kind: 'delivery', key, item }]
        return []
      })
    },

    /** Takes the entry's lease; the fresh item, or undefined when another instance holds it. */
    async claim(
      key: ItemKey,
      owner: string,
      now: number,
      leaseMs: number,
    ): Promise<Record<string, unknown> | undefined> {
      const leased = await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression:
            'gsi1pk = :outbox AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': now + leaseMs,
            ':now': now,
            ':outbox': OUTBOX,
          },
          ReturnValues: 'ALL_NEW',
        }),
        () => undefined,
      )
      return leased?.Attributes
    },

    /** Turns an event into one delivery per endpoint and takes it out of the outbox, at once. */
    async fanOut(
      event: OutboxEvent,
      deliveries: DeliveryRecord[],
      owner: string,
      now: string,
    ): Promise<void> {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            ...deliveries.map((d) => ({
              Put: {
                TableName: table,
                Item: deliveryItem(d),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
            {
              Update: {
                TableName: table,
                Key: itemKey.event(event.tenantId, event.eventId),
                UpdateExpression: `SET fannedOutAt = :now, deliveries = :n REMOVE gsi1pk, gsi1sk, leaseOwner, leaseUntil`,
                ConditionExpression: 'leaseOwner = :owner',
                ExpressionAttributeValues: {
                  ':now': now,
                  ':n': deliveries.length,
                  ':owner': owner,
                },
              },
            },
          ],
        }),
        leaseLost,
      )
    },

    /**
     * Appends an attempt and sets what follows: pending until `nextAttemptAt` (back in the
     * outbox at that time), or done (out of the outbox).
     */
    async recordAttempt(
      delivery: DeliveryRecord,
      attempt: DeliveryAttempt,
      status: DeliveryRecord['status'],
      owner: string,
    ): Promise<void> {
      const pending = status === 'pending' && attempt.nextRetryAt !== null
      await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.delivery(delivery.tenantId, delivery.webhookId, delivery.messageId),
          UpdateExpression: pending
            ? `SET attempts = list_append(attempts, :a), #status = :status, nextAttemptAt = :next, gsi1sk = :sk ${unlease}`
            : `SET attempts = list_append(attempts, :a), #status = :status ${unlease}, nextAttemptAt, gsi1pk, gsi1sk`,
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':a': [attempt],
            ':status': status,
            ':owner': owner,
            ...(pending
              ? {
                  ':next': attempt.nextRetryAt,
                  ':sk': outboxSortKey(
                    attempt.nextRetryAt as string,
                    delivery.tenantId,
                    delivery.messageId,
                  ),
                }
              : {}),
          },
        }),
        leaseLost,
      )
    },

    /** A delivery whose endpoint is gone or turned off: out of the outbox, marked so. */
    async cancel(delivery: DeliveryRecord, owner: string): Promise<void> {
      await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.delivery(delivery.tenantId, delivery.webhookId, delivery.messageId),
          UpdateExpression: `SET #status = :cancelled ${unlease}, nextAttemptAt, gsi1pk, gsi1sk`,
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':cancelled': 'cancelled', ':owner': owner },
        }),
        leaseLost,
      )
    },
  }
}

export type OutboxStore = ReturnType<typeof createOutboxStore>
