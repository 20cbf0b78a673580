import { z } from '@hono/zod-openapi'
import { EVENT_TYPE_NAMES, EVENT_TYPES } from '../../events/catalog.ts'
import type { DeliveryRecord } from '../../storage/deliveries.ts'

/** The schemas of /v1/webhooks (routes/webhooks.ts), as the OpenAPI document names them. */
export const EventTypeSchema = z.enum(EVENT_TYPE_NAMES).openapi('EventType', {
  description: Object.entries(EVENT_TYPES)
    .map(([type, meaning]) => `\`${type}\`: ${meaning}`)
    .join('\n\n'),
})

export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(EventTypeSchema).openapi({ description: 'Empty: every event type' }),
    enabled: z.boolean(),
    disabledReason: z.enum(['failing', 'creator_left']).nullable().openapi({
      description:
        'failing: deliveries kept failing; creator_left: its creator left or stopped being an owner',
    }),
    failingSince: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Webhook')

export const Secret = z.string().openapi({
  description: 'The whsec_ signing secret (Standard Webhooks). Shown once; store it now.',
  format: 'password',
})
export const CreatedWebhook = WebhookSchema.extend({ secret: Secret }).openapi('CreatedWebhook')

const AttemptSchema = z
  .object({
    attempt: z.number().int(),
    at: z.iso.datetime(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    latencyMs: z.number().int(),
    nextRetryAt: z.iso.datetime().nullable(),
  })
  .openapi('WebhookAttempt')

export const DeliverySchema = z
  .object({
    messageId: z.string().openapi({ description: 'The webhook-id header of every attempt' }),
    eventId: z.string(),
    eventType: EventTypeSchema,
    status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']),
    createdAt: z.iso.datetime(),
    nextAttemptAt: z.iso.datetime().nullable(),
    attempts: z.array(AttemptSchema),
  })
  .openapi('WebhookDelivery')

export const Url = z.string().max(2048).openapi({ description: 'Where events are POSTed (https)' })
export const Description = z.string().max(500)
export const Id = z.object({ id: z.string().max(64) })

export const describeDelivery = (d: DeliveryRecord) => ({
  messageId: d.messageId,
  eventId: d.eventId,
  eventType: d.eventType as z.infer<typeof EventTypeSchema>,
  status: d.status,
  createdAt: d.createdAt,
  nextAttemptAt: d.nextAttemptAt ?? null,
  attempts: d.attempts,
})
