import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { epochSeconds, itemKey } from './keys.ts'
import { OUTBOX, OUTBOX_RETENTION_MS, outboxSortKey } from './outbox.ts'

/** One try at handing a message to its endpoint. */
export interface DeliveryAttempt {
  attempt: number
  at: string
  /** The receiver's HTTP status; null when no response came (refused, timed out, ...). */
  statusCode: number | null
  /** A stable code for what went wrong without a response (`timeout`, `refused`, ...). */
  error: string | null
  latencyMs: number
  /** When the next attempt is due; null after a success or the last attempt. */
  nextRetryAt: string | null
}

/**
 * One event's delivery to one endpoint. `messageId` is the `webhook-id` of every attempt, so
 * receivers can drop duplicates. The payload holds ids and names only (events/catalog.ts).
 */
export interface DeliveryRecord {
  tenantId: string
  webhookId: string
  messageId: string
  eventId: string
  eventType: string
  payload: string
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled'
  createdAt: string
  nextAttemptAt?: string
  attempts: DeliveryAttempt[]
}

const FIELDS = [
  'tenantId',
  'webhookId',
  'messageId',
  'eventId',
  'eventType',
  'payload',
  'status',
  'createdAt',
  'nextAttemptAt',
  'attempts',
] as const

export function toDeliveryRecord(item: Record<string, unknown>): DeliveryRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as DeliveryRecord
}

/** A new delivery's item: pending, and in the outbox index as due at `createdAt`. */
export function deliveryItem(record: DeliveryRecord) {
  return {
    ...itemKey.delivery(record.tenantId, record.webhookId, record.messageId),
    type: 'delivery',
    ...record,
    gsi1pk: OUTBOX,
    gsi1sk: outboxSortKey(
      record.nextAttemptAt ?? record.createdAt,
      record.tenantId,
      record.messageId,
    ),
    ttl: epochSeconds(new Date(Date.parse(record.createdAt) + OUTBOX_RETENTION_MS)),
  }
}

/** The delivery log of an endpoint, newest first. */
export function createDeliveryLog({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  return {
    async list(
      tenantId: string,
      webhookId: string,
      { limit, cursor }: { limit: number; cursor?: string },
    ): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }> {
      const pk = itemKey.org(tenantId).pk
      const prefix = `WHDELIVERY#${webhookId}#`
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: decodeCursor(cursor, { pk, skPrefix: prefix }),
          ConsistentRead: true,
        }),
      )
      return {
        items: (page.Items ?? []).map(toDeliveryRecord),
        nextCursor: encodeCursor(page.LastEvaluatedKey),
      }
    },
  }
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>
