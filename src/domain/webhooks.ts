import type { Principal } from '../auth/principal.ts'
import { requireScope } from '../auth/scopes.ts'
import { AppError } from '../errors.ts'
import { type EventType, eventPayload } from '../events/catalog.ts'
import { isId, newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { DeliveryLog } from '../storage/deliveries.ts'
import type { EventWriter } from '../storage/events.ts'
import type {
  StoredWebhookSecret,
  WebhookChanges,
  WebhookRecord,
  WebhookRepository,
} from '../storage/webhooks.ts'
import { newWebhookSecret, type WebhookSecretSealer } from '../webhooks/secret.ts'

export interface WebhookServiceDeps {
  webhooks: WebhookRepository
  sealer: WebhookSecretSealer
  deliveries: DeliveryLog
  events: EventWriter
  clock: Clock
  /**
   * Refuses a receiver URL that can be judged before connecting (scheme, an address literal
   * outside the allowed ranges); throws an AppError. Names are judged again at connect time.
   */
  checkUrl: (url: URL) => void
  /** Asks the delivery worker to look at the outbox soon; never awaited. */
  kick: () => void
}

export interface WebhookInput {
  url: string
  description?: string
  eventTypes?: EventType[]
  enabled?: boolean
}

/** What callers see of an endpoint: never its secrets. */
export function describeWebhook(record: WebhookRecord) {
  return {
    id: record.webhookId,
    url: record.url,
    description: record.description ?? null,
    eventTypes: record.eventTypes,
    enabled: record.enabled,
    disabledReason: record.disabledReason ?? null,
    failingSince: record.failingSince ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  }
}

export const MAX_ENDPOINTS = 20

/** A rotated-out secret keeps signing for this long by default, so receivers can switch. */
export const DEFAULT_OVERLAP_SECONDS = 86_400

/**
 * Webhook endpoints. They grant a lasting flow of information, so only people's sessions
 * with `org:admin` manage them: an access token (an application) never can.
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { webhooks, sealer, clock } = deps
  const nowIso = () => new Date(clock.now()).toISOString()

  function requireManager(principal: Principal): void {
    if (principal.kind !== 'session') {
      throw new AppError(
        'insufficient_scope',
        'Webhooks are managed by people signed in, never by access tokens.',
        { extra: { requiredKind: 'session' } },
      )
    }
    requireScope(principal, 'org:write')
  }

  async function load(principal: Principal, webhookId: string): Promise<WebhookRecord> {
    requireManager(principal)
    const record = isId('whk', webhookId)
      ? await webhooks.get(principal.tenantId, webhookId)
      : undefined
    if (!record) throw new AppError('not_found', 'No such webhook.')
    return record
  }

  function parseUrl(text: string): string {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw invalidUrl('must be an absolute URL')
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw invalidUrl('must be http or https')
    if (url.username || url.password) throw invalidUrl('must not carry credentials')
    url.hash = ''
    deps.checkUrl(url)
    return url.toString()
  }

  async function sealSecret(
    tenantId: string,
    webhookId: string,
    version: number,
  ): Promise<{ secret: string; stored: StoredWebhookSecret }> {
    const secret = newWebhookSecret()
    const sealed = await sealer.seal({ tenantId, webhookId, version }, secret)
    return { secret, stored: { version, sealed, createdAt: nowIso() } }
  }

  return {
    async create(principal: Principal, input: WebhookInput) {
      requireManager(principal)
      const url = parseUrl(input.url)
      // An event fans out to every endpoint in one transaction (at most 100 items).
      if ((await webhooks.list(principal.tenantId)).length >= MAX_ENDPOINTS) {
        throw new AppError('conflict', `An organization has at most ${MAX_ENDPOINTS} webhooks.`, {
          extra: { limit: MAX_ENDPOINTS },
        })
      }
      const webhookId = newId('whk', clock.now())
      const { secret, stored } = await sealSecret(principal.tenantId, webhookId, 1)
      const now = nowIso()
      const record: WebhookRecord = {
        tenantId: principal.tenantId,
        webhookId,
        url,
        ...(input.description ? { description: input.description } : {}),
        eventTypes: [...new Set(input.eventTypes ?? [])],
        enabled: input.enabled ?? true,
        secrets: [stored],
        createdAt: now,
        updatedAt: now,
        createdBy: { type: 'user', id: principal.userId ?? principal.tokenId },
      }
      await webhooks.create(record)
      return { record, secret }
    },

    async list(principal: Principal) {
      requireManager(principal)
      return webhooks.list(principal.tenantId)
    },

    get: load,

    async update(
      principal: Principal,
      webhookId: string,
      input: Omit<Partial<WebhookInput>, 'description'> & { description?: string | null },
    ) {
      const record = await load(principal, webhookId)
      const changes: WebhookChanges = {}
      if (input.url !== undefined) changes.url = parseUrl(input.url)
      if (input.description !== undefined) changes.description = input.description
      if (input.eventTypes !== undefined) changes.eventTypes = [...new Set(input.eventTypes)]
      if (input.enabled !== undefined) {
        changes.enabled = input.enabled
        // Turned back on by a person: the failure history starts again.
        if (input.enabled) Object.assign(changes, { disabledReason: null, failingSince: null })
      }
      const now = nowIso()
      if (!(await webhooks.update(principal.tenantId, record.webhookId, changes, now)))
        throw new AppError('not_found', 'No such webhook.')
      const merged: Record<string, unknown> = { ...record, updatedAt: now }
      for (const [field, value] of Object.entries(changes)) {
        if (value === null) delete merged[field]
        else merged[field] = value
      }
      return merged as unknown as WebhookRecord
    },

    async delete(principal: Principal, webhookId: string) {
      const record = await load(principal, webhookId)
      if (!(await webhooks.delete(principal.tenantId, record.webhookId)))
        throw new AppError('not_found', 'No such webhook.')
      return record
    },

    /**
     * A new secret, shown once. The previous one keeps signing (beside the new one) for
     * `overlapSeconds`, so receivers can move over without missing a delivery.
     */
    async rotateSecret(
      principal: Principal,
      webhookId: string,
      overlapSeconds = DEFAULT_OVERLAP_SECONDS,
    ) {
      const record = await load(principal, webhookId)
      const now = clock.now()
      const live = record.secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now)
      const version = Math.max(...record.secrets.map((s) => s.version)) + 1
      const { secret, stored } = await sealSecret(principal.tenantId, record.webhookId, version)
      const until = new Date(now + overlapSeconds * 1000).toISOString()
      const secrets = [
        ...live
          .filter(() => overlapSeconds > 0)
          .map((s) => ({
            ...s,
            expiresAt: s.expiresAt && s.expiresAt < until ? s.expiresAt : until,
          })),
        stored,
      ]
      await webhooks.update(
        principal.tenantId,
        record.webhookId,
        { secrets },
        new Date(now).toISOString(),
      )
      return {
        record: { ...record, secrets },
        secret,
        previousExpiresAt: overlapSeconds > 0 ? until : null,
      }
    },

    /** Queues a `webhook.test` message for this endpoint alone, enabled or not. */
    async sendTestEvent(principal: Principal, webhookId: string) {
      const record = await load(principal, webhookId)
      const now = clock.now()
      const occurredAt = new Date(now).toISOString()
      const event = {
        type: 'webhook.test' as const,
        occurredAt,
        data: { webhookId: record.webhookId, organizationId: record.tenantId },
      }
      const delivery = {
        tenantId: record.tenantId,
        webhookId: record.webhookId,
        messageId: newId('msg', now),
        eventId: newId('evt', now),
        eventType: event.type,
        payload: eventPayload(event),
        status: 'pending' as const,
        createdAt: occurredAt,
        nextAttemptAt: occurredAt,
        attempts: [],
      }
      await deps.events.enqueueDelivery(delivery)
      deps.kick()
      return delivery
    },

    async deliveries(
      principal: Principal,
      webhookId: string,
      page: { limit: number; cursor?: string },
    ) {
      const record = await load(principal, webhookId)
      return deps.deliveries.list(principal.tenantId, record.webhookId, page)
    },
  }
}

const invalidUrl = (message: string) =>
  new AppError('validation_failed', `url: ${message}`, {
    extra: { errors: [{ field: 'url', message }] },
  })

export type WebhookService = ReturnType<typeof createWebhookService>
