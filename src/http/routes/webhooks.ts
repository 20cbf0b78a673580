import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { describeWebhook, type WebhookService } from '../../domain/webhooks.ts'
import { EVENT_TYPE_NAMES } from '../../events/catalog.ts'
import type { WebhookRecord } from '../../storage/webhooks.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, jsonBody, problems } from '../schemas.ts'
import {
  CreatedWebhook,
  DeliverySchema,
  Description,
  describeDelivery,
  EventTypeSchema,
  Id,
  Secret,
  Url,
  WebhookSchema,
} from './webhook-schemas.ts'

const target = (r: WebhookRecord | { webhookId: string }) => ({
  type: 'webhook' as const,
  id: r.webhookId,
})

const tags = ['webhooks']
const noStore = { 'cache-control': 'no-store' }

export function webhookRoutes({
  webhooks,
  authenticator,
  audit,
}: {
  webhooks: WebhookService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/webhooks', requireAuth({ authenticator }))
  router.use('/v1/webhooks/*', requireAuth({ authenticator }))

  const create = createRoute({
    method: 'post',
    path: '/v1/webhooks',
    tags,
    summary: 'Add a webhook endpoint (sessions with org:admin only); its secret is shown once',
    security: bearer,
    request: jsonBody(
      z.strictObject({
        url: Url,
        description: Description.optional(),
        eventTypes: z.array(EventTypeSchema).max(EVENT_TYPE_NAMES.length).optional(),
        enabled: z.boolean().optional(),
      }),
    ),
    responses: {
      201: { description: 'Created', content: json(CreatedWebhook) },
      ...problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
  })
  const list = createRoute({
    method: 'get',
    path: '/v1/webhooks',
    tags,
    summary: 'List webhook endpoints (never their secrets)',
    security: bearer,
    responses: {
      200: { description: 'Endpoints', content: json(z.object({ items: z.array(WebhookSchema) })) },
      ...problems(401, 403),
    },
  })
  const get = createRoute({
    method: 'get',
    path: '/v1/webhooks/{id}',
    tags,
    summary: 'Describe a webhook endpoint',
    security: bearer,
    request: { params: Id },
    responses: {
      200: { description: 'The endpoint', content: json(WebhookSchema) },
      ...problems(401, 403, 404, 422),
    },
  })
  const update = createRoute({
    method: 'patch',
    path: '/v1/webhooks/{id}',
    tags,
    summary: 'Change an endpoint; enabling it again clears its failure history',
    security: bearer,
    request: {
      params: Id,
      ...jsonBody(
        z.strictObject({
          url: Url.optional(),
          description: Description.nullable().optional(),
          eventTypes: z.array(EventTypeSchema).max(EVENT_TYPE_NAMES.length).optional(),
          enabled: z.boolean().optional(),
        }),
      ),
    },
    responses: {
      200: { description: 'Updated', content: json(WebhookSchema) },
      ...problems(400, 401, 403, 404, 413, 415, 422),
    },
  })
  const remove = createRoute({
    method: 'delete',
    path: '/v1/webhooks/{id}',
    tags,
    summary: 'Delete a webhook endpoint (pending deliveries are cancelled)',
    security: bearer,
    request: { params: Id },
    responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 422) },
  })
  const rotate = createRoute({
    method: 'post',
    path: '/v1/webhooks/{id}/rotate-secret',
    tags,
    summary: 'Replace the signing secret; the old one keeps signing during the overlap',
    security: bearer,
    request: {
      params: Id,
      body: {
        required: false,
        content: json(
          z.strictObject({
            overlapSeconds: z
              .number()
              .int()
              .min(0)
              .max(7 * 86_400)
              .optional()
              .openapi({
                description: 'How long the previous secret still signs (default 86400)',
              }),
          }),
        ),
      },
    },
    responses: {
      200: {
        description: 'The new secret (shown once)',
        content: json(
          z
            .object({ secret: Secret, previousSecretExpiresAt: z.iso.datetime().nullable() })
            .openapi('RotatedWebhookSecret'),
        ),
      },
      ...problems(400, 401, 403, 404, 413, 415, 422, 503),
    },
  })
  const test = createRoute({
    method: 'post',
    path: '/v1/webhooks/{id}/test',
    tags,
    summary: 'Send a webhook.test event to this endpoint (delivered in the background)',
    security: bearer,
    request: { params: Id },
    responses: {
      202: { description: 'Queued', content: json(DeliverySchema) },
      ...problems(401, 403, 404, 422),
    },
  })
  const deliveries = createRoute({
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries',
    tags,
    summary: 'The delivery log: each message, its attempts, status codes, latency, next retry',
    security: bearer,
    request: {
      params: Id,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(50),
        cursor: z.string().max(2048).optional(),
      }),
    },
    responses: {
      200: {
        description: 'Newest first',
        content: json(
          z.object({ items: z.array(DeliverySchema), nextCursor: z.string().nullable() }),
        ),
      },
      ...problems(400, 401, 403, 404, 422),
    },
  })

  return router
    .openapi(create, async (c) => {
      const input = c.req.valid('json')
      const { record, secret } = await audited(
        c,
        audit,
        (created) => ({
          action: 'webhook.create',
          target: target(created.record),
          details: { url: created.record.url, eventTypes: created.record.eventTypes.join(' ') },
        }),
        () => webhooks.create(c.get('principal'), input),
        { action: 'webhook.create', target: { type: 'webhook', id: 'new' } },
      )
      return c.json({ ...describeWebhook(record), secret }, 201, noStore)
    })
    .openapi(list, async (c) =>
      c.json({ items: (await webhooks.list(c.get('principal'))).map(describeWebhook) }, 200),
    )
    .openapi(get, async (c) =>
      c.json(describeWebhook(await webhooks.get(c.get('principal'), c.req.valid('param').id)), 200),
    )
    .openapi(update, async (c) => {
      const { id } = c.req.valid('param')
      const changes = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (updated) => ({
          action: 'webhook.update',
          target: target(updated),
          details: { fields: Object.keys(changes).join(' ') },
        }),
        () => webhooks.update(c.get('principal'), id, changes),
        { action: 'webhook.update', target: { type: 'webhook', id } },
      )
      return c.json(describeWebhook(record), 200)
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param')
      await audited(c, audit, { action: 'webhook.delete', target: { type: 'webhook', id } }, () =>
        webhooks.delete(c.get('principal'), id),
      )
      return c.body(null, 204)
    })
    .openapi(rotate, async (c) => {
      const { id } = c.req.valid('param')
      const body = c.req.header('content-type') ? c.req.valid('json') : {}
      const rotated = await audited(
        c,
        audit,
        (r) => ({
          action: 'webhook.secret.rotate',
          target: target(r.record),
          details: { previousSecretExpiresAt: r.previousExpiresAt },
        }),
        () => webhooks.rotateSecret(c.get('principal'), id, body.overlapSeconds),
        { action: 'webhook.secret.rotate', target: { type: 'webhook', id } },
      )
      return c.json(
        { secret: rotated.secret, previousSecretExpiresAt: rotated.previousExpiresAt },
        200,
        noStore,
      )
    })
    .openapi(test, async (c) => {
      const { id } = c.req.valid('param')
      const delivery = await audited(
        c,
        audit,
        { action: 'webhook.test', target: { type: 'webhook', id } },
        () => webhooks.sendTestEvent(c.get('principal'), id),
      )
      return c.json(describeDelivery(delivery), 202)
    })
    .openapi(deliveries, async (c) => {
      const page = await webhooks.deliveries(
        c.get('principal'),
        c.req.valid('param').id,
        c.req.valid('query'),
      )
      return c.json({ items: page.items.map(describeDelivery), nextCursor: page.nextCursor }, 200)
    })
}
