import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.ts'
import { createWebhookService } from '../domain/webhooks.ts'
import { createPoller } from '../jobs/poller.ts'
import { createReminderScheduler } from '../jobs/reminder-scheduler.ts'
import { createDeliveryWorker } from '../jobs/webhook-delivery.ts'
import type { KeyProvider } from '../kms/key-provider.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { OutboundFetch } from '../net/outbound.ts'
import { createDeliveryLog } from '../storage/deliveries.ts'
import { createDueIndex } from '../storage/due-index.ts'
import { createEventWriter } from '../storage/events.ts'
import { createOutboxStore } from '../storage/outbox-store.ts'
import { createWebhookRepository } from '../storage/webhooks.ts'
import { createWebhookUrlCheck } from '../webhooks/check-url.ts'
import { createWebhookSecretSealer } from '../webhooks/secret.ts'

export interface WebhookWiring {
  doc: DynamoDBDocumentClient
  table: string
  clock: Clock
  logger: Logger
  config: Readonly<Config>
  /** The platform KMS key, which seals endpoints' signing secrets. */
  platformKek: KeyProvider
  /** Every request to a receiver goes through it (net/outbound.ts). */
  outbound: OutboundFetch
}

/**
 * Events leaving the system, wired (part of the composition root, deps.ts): webhook
 * endpoints and their sealed secrets, the outbox and its delivery worker, and the scheduler of
 * expiry, replacement and unused-key reminders that writes to it.
 */
export function buildWebhooks({
  doc,
  table,
  clock,
  logger,
  config,
  platformKek,
  outbound,
}: WebhookWiring) {
  const webhookRepository = createWebhookRepository({ doc, table })
  const webhookSecrets = createWebhookSecretSealer(platformKek)
  const events = createEventWriter({ doc, table })
  const deliveryWorker = createDeliveryWorker({
    outbox: createOutboxStore({ doc, table }),
    webhooks: webhookRepository,
    sealer: webhookSecrets,
    fetch: outbound,
    clock,
    logger,
  })
  /** Start with `outbox.start()` (main.ts); a write that queued an event kicks it. */
  const outbox = createPoller({
    name: 'webhook-delivery',
    pass: deliveryWorker.pass,
    pollMs: 5_000,
    logger,
  })
  /** Start with `reminders.start()` (main.ts): expiry, replacement and unused reminders. */
  const reminders = createPoller({
    name: 'reminders',
    pass: createReminderScheduler({
      index: createDueIndex({ doc, table }),
      clock,
      logger,
      unusedAfterDays: config.reminders.unusedAfterDays,
      onEvents: outbox.kick,
    }).pass,
    // Reminders are counted in days; a minute late is on time.
    pollMs: 60_000,
    logger,
  })
  const webhooks = createWebhookService({
    webhooks: webhookRepository,
    sealer: webhookSecrets,
    deliveries: createDeliveryLog({ doc, table }),
    events,
    clock,
    checkUrl: createWebhookUrlCheck(config.outbound),
    kick: outbox.kick,
  })
  return { webhooks, webhookRepository, webhookSecrets, outbox, reminders }
}
