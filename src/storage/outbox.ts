import type { OutboxEvent } from '../events/catalog.ts'
import { epochSeconds, itemKey } from './keys.ts'

/**
 * The outbox: events and their deliveries wait in `gsi1` under `OUTBOX`, sorted by when they
 * are next due, until the delivery worker has handed them on. An event is written in the same
 * transaction (or conditional write) as the change it reports, through `eventPut`, so a change
 * never commits without its event, nor an event without its change.
 */
export const OUTBOX = 'OUTBOX'

/** Events and the delivery log stay this long, then DynamoDB drops them. */
export const OUTBOX_RETENTION_MS = 30 * 86_400_000

/** The sort key in the outbox index: due time first, so a range read finds what is due. */
export const outboxSortKey = (dueAt: string, tenantId: string, id: string) =>
  `${dueAt}#${tenantId}#${id}`

export function eventItem(event: OutboxEvent) {
  return {
    ...itemKey.event(event.tenantId, event.eventId),
    type: 'event',
    tenantId: event.tenantId,
    eventId: event.eventId,
    eventType: event.type,
    occurredAt: event.occurredAt,
    data: event.data,
    ...(event.webhookId ? { webhookId: event.webhookId } : {}),
    gsi1pk: OUTBOX,
    gsi1sk: outboxSortKey(event.occurredAt, event.tenantId, event.eventId),
    ttl: epochSeconds(new Date(Date.parse(event.occurredAt) + OUTBOX_RETENTION_MS)),
  }
}

/** A transaction item that writes `event` into the outbox (never overwriting one). */
export function eventPut(table: string, event: OutboxEvent) {
  return {
    Put: {
      TableName: table,
      Item: eventItem(event),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  }
}

export function toOutboxEvent(item: Record<string, unknown>): OutboxEvent {
  return {
    tenantId: item.tenantId as string,
    eventId: item.eventId as string,
    type: item.eventType as OutboxEvent['type'],
    occurredAt: item.occurredAt as string,
    data: (item.data ?? {}) as OutboxEvent['data'],
    ...(typeof item.webhookId === 'string' ? { webhookId: item.webhookId } : {}),
  }
}
