import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { SealedRecord } from '../crypto/record.ts'
import type { EventType, OutboxEvent } from '../events/catalog.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'
import { queryAll } from './query-pages.ts'

/** One signing secret of an endpoint, sealed; a rotated-out one signs until `expiresAt`. */
export interface StoredWebhookSecret {
  version: number
  sealed: SealedRecord
  createdAt: string
  expiresAt?: string
}

/** A receiver of an organization's events. */
export interface WebhookRecord {
  tenantId: string
  webhookId: string
  url: string
  description?: string
  /** Event types sent to it; an empty list means every type. */
  eventTypes: EventType[]
  enabled: boolean
  /**
   * Why it was turned off by the server, if it was: it kept `failing`, or its creator left the
   * organization or stopped being an owner (`creator_left`).
   */
  disabledReason?: 'failing' | 'creator_left'
  /** The first failed delivery since the last success. */
  failingSince?: string
  secrets: StoredWebhookSecret[]
  createdAt: string
  updatedAt: string
  createdBy: { type: 'user'; id: string }
}

const FIELDS = [
  'tenantId',
  'webhookId',
  'url',
  'description',
  'eventTypes',
  'enabled',
  'disabledReason',
  'failingSince',
  'secrets',
  'createdAt',
  'updatedAt',
  'createdBy',
] as const

function toWebhookRecord(item: Record<string, unknown>): WebhookRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as WebhookRecord
}

export type WebhookChanges = Partial<
  Pick<
    WebhookRecord,
    'url' | 'eventTypes' | 'enabled' | 'secrets' | 'failingSince' | 'disabledReason'
  >
> & {
  /** null removes it (also for `failingSince` and `disabledReason`). */
  description?: string | null
  failingSince?: string | null
  disabledReason?: 'failing' | 'creator_left' | null
}

/** Webhook endpoints, one item each in the tenant's partition. */
export function createWebhookRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async create(record: WebhookRecord): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.webhook(record.tenantId, record.webhookId),
            type: 'webhook',
            ...record,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    async get(tenantId: string, webhookId: string): Promise<WebhookRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.webhook(tenantId, webhookId),
          ConsistentRead: true,
        }),
      )
      return Item ? toWebhookRecord(Item) : undefined
    },

    /** Every endpoint of a tenant (a handful: no pagination). */
    async list(tenantId: string): Promise<WebhookRecord[]> {
      const out: WebhookRecord[] = []
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': itemKey.org(tenantId).pk, ':prefix': 'WEBHOOK#' },
        ConsistentRead: true,
      })
      for (const item of items) out.push(toWebhookRecord(item))
      return out
    },

    /** Applies `changes` if the endpoint exists; false when it does not. */
    async update(
      tenantId: string,
      webhookId: string,
      changes: WebhookChanges,
      now: string,
    ): Promise<boolean> {
      const names: Record<string, string> = {}
      const values: Record<string, unknown> = { ':now': now }
      const sets = ['updatedAt = :now']
      const removes: string[] = []
      for (const [field, value] of Object.entries(changes)) {
        if (value === undefined) continue
        names[`#${field}`] = field
        if (value === null) removes.push(`#${field}`)
        else {
          sets.push(`#${field} = :${field}`)
          values[`:${field}`] = value
        }
      }
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.webhook(tenantId, webhookId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(pk)',
          ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
        }),
      )
    },

    /** Notes a failed delivery; returns since when the endpoint has been failing. */
    async markFailing(
      tenantId: string,
      webhookId: string,
      now: string,
    ): Promise<string | undefined> {
      const updated = await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.webhook(tenantId, webhookId),
          UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :now)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'UPDATED_NEW',
        }),
        () => undefined,
      )
      return updated?.Attributes?.failingSince as string | undefined
    },

    /** A delivery succeeded: the endpoint is healthy again. */
    async markHealthy(tenantId: string, webhookId: string): Promise<void> {
      // Refused when it was healthy already: nothing to do.
      await writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.webhook(tenantId, webhookId),
          UpdateExpression: 'REMOVE failingSince',
          ConditionExpression: 'attribute_exists(failingSince)',
        }),
      )
    },

    /**
     * Turns off an endpoint that kept failing, with its `webhook.disabled` event in the same
     * transaction; false when it was already off (another instance got there first).
     */
    async disableFailing(
      tenantId: string,
      webhookId: string,
      now: string,
      event: OutboxEvent,
    ): Promise<boolean> {
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: itemKey.webhook(tenantId, webhookId),
                UpdateExpression:
                  'SET enabled = :false, disabledReason = :failing, updatedAt = :now',
                ConditionExpression: 'enabled = :true',
                ExpressionAttributeValues: {
                  ':false': false,
                  ':true': true,
                  ':failing': 'failing',
                  ':now': now,
                },
              },
            },
            eventPut(table, event),
          ],
        }),
        // A transaction racing this one may have turned it off first.
        { anyCancellation: true },
      )
    },

    /** False when there was no such endpoint. */
    async delete(tenantId: string, webhookId: string): Promise<boolean> {
      return writeIf(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: itemKey.webhook(tenantId, webhookId),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      )
    },
  }
}

export type WebhookRepository = ReturnType<typeof createWebhookRepository>
