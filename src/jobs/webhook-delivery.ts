import { randomUUID } from 'node:crypto'
import { eventPayload, type OutboxEvent } from '../events/catalog.ts'
import { newEvent } from '../events/new-event.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { OutboundFetch } from '../net/outbound.ts'
import {
  type DeliveryAttempt,
  type DeliveryRecord,
  toDeliveryRecord,
} from '../storage/deliveries.ts'
import { toOutboxEvent } from '../storage/outbox.ts'
import { LeaseLost, type OutboxStore } from '../storage/outbox-store.ts'
import type { WebhookRecord, WebhookRepository } from '../storage/webhooks.ts'
import type { WebhookSecretSealer } from '../webhooks/secret.ts'
import { signedHeaders } from '../webhooks/sign.ts'
import { DISABLE_AFTER_MS, nextAttemptAt } from './retry-schedule.ts'

export interface DeliveryWorkerOptions {
  outbox: OutboxStore
  webhooks: Pick<
    WebhookRepository,
    'get' | 'list' | 'markFailing' | 'markHealthy' | 'disableFailing'
  >
  sealer: Pick<WebhookSecretSealer, 'open'>
  fetch: OutboundFetch
  clock: Clock
  logger: Logger
  /** Per attempt: a receiver that has not answered by then has failed this attempt. */
  timeoutMs?: number
  /** Entries handled per pass, and at once. */
  batchSize?: number
  parallel?: number
  leaseMs?: number
  random?: () => number
}

/** Response bodies are read only to free the connection; a receiver need not say much. */
const MAX_RESPONSE_BYTES = 64 * 1024

/**
 * Hands the outbox to receivers, at least once: fans each event out into one delivery per
 * subscribed endpoint, then POSTs each delivery with Standard Webhooks signatures, retrying
 * failures on retry-schedule.ts's schedule under the same `webhook-id`. Runs in the background
 * (jobs/poller.ts): requests only write the outbox, so a slow receiver never slows them.
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions) {
  const {
    outbox,
    webhooks,
    sealer,
    clock,
    logger,
    timeoutMs = 10_000,
    batchSize = 25,
    parallel = 8,
    leaseMs = 60_000,
    random = Math.random,
  } = options
  const owner = randomUUID()

  async function fanOut(event: OutboxEvent): Promise<void> {
    const endpoints = event.webhookId
      ? []
      : (await webhooks.list(event.tenantId)).filter(
          (w) => w.enabled && (w.eventTypes.length === 0 || w.eventTypes.includes(event.type)),
        )
    const payload = eventPayload(event)
    const now = clock.now()
    const deliveries = endpoints.map(
      (w): DeliveryRecord => ({
        tenantId: event.tenantId,
        webhookId: w.webhookId,
        messageId: newId('msg', now),
        eventId: event.eventId,
        eventType: event.type,
        payload,
        status: 'pending',
        createdAt: new Date(now).toISOString(),
        nextAttemptAt: new Date(now).toISOString(),
        attempts: [],
      }),
    )
    await outbox.fanOut(event, deliveries, owner, new Date(now).toISOString())
  }

  async function openSecrets(endpoint: WebhookRecord, now: number): Promise<string[]> {
    const live = endpoint.secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now)
    return Promise.all(
      live.map((s) =>
        sealer.open(
          { tenantId: endpoint.tenantId, webhookId: endpoint.webhookId, version: s.version },
          s.sealed,
        ),
      ),
    )
  }

  /** One POST; the status code, or a stable code for why there was none. */
  async function post(
    endpoint: WebhookRecord,
    delivery: DeliveryRecord,
    at: Date,
  ): Promise<{ statusCode: number | null; error: string | null }> {
    const secrets = await openSecrets(endpoint, at.getTime())
    try {
      const response = await options.fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Keystash-Webhooks/1',
          ...signedHeaders(secrets, delivery.messageId, at, delivery.payload),
        },
        body: delivery.payload,
        redirect: 'manual',
        timeoutMs,
        maxBytes: MAX_RESPONSE_BYTES,
      })
      await response.arrayBuffer().catch(() => undefined)
      return { statusCode: response.status, error: null }
    } catch (error) {
      return { statusCode: null, error: failureCode(error) }
    }
  }

  async function deliver(delivery: DeliveryRecord): Promise<void> {
    const endpoint = await webhooks.get(delivery.tenantId, delivery.webhookId)
    // Test messages go to a turned-off endpoint too: that is how one checks it before
    // turning it back on.
    if (!endpoint || (!endpoint.enabled && delivery.eventType !== 'webhook.test')) {
      await outbox.cancel(delivery, owner)
      return
    }
    const at = new Date(clock.now())
    const started = performance.now()
    const { statusCode, error } = await post(endpoint, delivery, at)
    const latencyMs = Math.round(performance.now() - started)
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300
    const attemptNo = delivery.attempts.length + 1
    const now = clock.now()
    const next = ok
      ? undefined
      : nextAttemptAt(attemptNo, Date.parse(delivery.createdAt), now, random)
    const attempt: DeliveryAttempt = {
      attempt: attemptNo,
      at: at.toISOString(),
      statusCode,
      error: ok ? null : (error ?? `http_${statusCode}`),
      latencyMs,
      nextRetryAt: next === undefined ? null : new Date(next).toISOString(),
    }
    const status = ok ? 'succeeded' : next === undefined ? 'failed' : 'pending'
    await outbox.recordAttempt(delivery, attempt, status, owner)
    logger.info(
      {
        tenantId: delivery.tenantId,
        webhookId: delivery.webhookId,
        messageId: delivery.messageId,
        attempt: attemptNo,
        statusCode,
        error: attempt.error,
        latencyMs,
      },
      'webhook delivery attempt',
    )
    if (ok) await webhooks.markHealthy(delivery.tenantId, delivery.webhookId)
    else await noteFailure(endpoint, now)
  }

  async function noteFailure(endpoint: WebhookRecord, now: number): Promise<void> {
    const nowIso = new Date(now).toISOString()
    const since = await webhooks.markFailing(endpoint.tenantId, endpoint.webhookId, nowIso)
    if (!since || !endpoint.enabled || now - Date.parse(since) < DISABLE_AFTER_MS) return
    const disabled = await webhooks.disableFailing(
      endpoint.tenantId,
      endpoint.webhookId,
      nowIso,
      newEvent(
        endpoint.tenantId,
        'webhook.disabled',
        { webhookId: endpoint.webhookId, url: endpoint.url, failingSince: since },
        now,
      ),
    )
    if (disabled)
      logger.warn(
        { tenantId: endpoint.tenantId, webhookId: endpoint.webhookId },
        'webhook disabled after failing',
      )
  }

  /** True when it fanned out an event (whose deliveries are then due at once). */
  async function handle(entry: Awaited<ReturnType<OutboxStore['due']>>[number]): Promise<boolean> {
    const item = await outbox.claim(entry.key, owner, clock.now(), leaseMs)
    if (!item) return false
    if (entry.kind === 'event') {
      await fanOut(toOutboxEvent(item))
      return true
    }
    await deliver(toDeliveryRecord(item))
    return false
  }

  /**
   * Works through what is due now: a few rounds, so an event's deliveries go out in the same
   * pass as its fan-out. Returns how many entries it looked at.
   */
  async function pass(): Promise<number> {
    let seen = 0
    for (let round = 0; round < 4; round++) {
      const { count, fannedOut } = await passRound()
      seen += count
      if (!fannedOut && count < batchSize) break
    }
    return seen
  }

  async function passRound(): Promise<{ count: number; fannedOut: boolean }> {
    let fannedOut = false
    const due = await outbox.due(new Date(clock.now()).toISOString(), batchSize)
    for (let i = 0; i < due.length; i += parallel) {
      await Promise.all(
        due.slice(i, i + parallel).map((entry) =>
          handle(entry).then(
            (fanned) => {
              fannedOut ||= fanned
            },
            (error: unknown) => {
              if (error instanceof LeaseLost) return
              logger.error(
                { sk: entry.key.sk.split('#')[0], error: (error as Error).message },
                'outbox entry failed',
              )
            },
          ),
        ),
      )
    }
    return { count: due.length, fannedOut }
  }

  return { pass }
}

/** Why no response came, as a stable code for the delivery log (never the error's text). */
function failureCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'string' && /^[a-z_]{1,40}$/.test(code)) return code
  const name = (error as Error)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout'
  return 'connection_failed'
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>
