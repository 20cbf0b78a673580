/**
 * Every event type that leaves the system (as a webhook), with what its `data` carries: ids,
 * names and dates, never a value, a token string or key material.
 */
export const EVENT_TYPES = {
  'key.expiring': 'A stored key expires within 30, 7 or 1 days (one event per threshold)',
  'key.rotation_due': 'A stored key is due to be replaced under its rotateEveryDays policy',
  'key.unused': 'A stored key has not been read for the configured number of days',
  'key.version_created': 'A new version of a key’s value was stored',
  'key.deleted': 'A key and every version of it were deleted',
  'token.expiring': 'An access token expires within 30, 7 or 1 days (one event per threshold)',
  'token.revoked': 'An access token was revoked',
  'token.unused': 'An access token has not been used for the configured number of days',
  'encryption.changed': 'The organization’s encryption key (KEK) changed',
  'reencryption.finished': 'A re-encryption job finished',
  'reencryption.failed': 'A re-encryption job failed',
  'encryption.key_unreachable': 'The organization’s own KMS key could not be used',
  'webhook.disabled': 'An endpoint was disabled after 5 days of failed deliveries',
  'webhook.test': 'Sent on request, to check an endpoint',
} as const

export type EventType = keyof typeof EVENT_TYPES
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as [EventType, ...EventType[]]

/** What an event's `data` may hold: flat, and only ids, names, dates, numbers and flags. */
export type EventData = Record<string, string | number | boolean | null>

/** An event as it is stored in the outbox and sent (the Standard Webhooks payload shape). */
export interface OutboxEvent {
  tenantId: string
  eventId: string
  type: EventType
  occurredAt: string
  data: EventData
  /** Sent only to this endpoint (test events); otherwise to every subscribed endpoint. */
  webhookId?: string
}

export function eventPayload(event: Pick<OutboxEvent, 'type' | 'occurredAt' | 'data'>): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data })
}
