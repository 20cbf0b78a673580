import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.ts'
import type { DekCache } from '../crypto/dek-cache.ts'
import { createValueCipher, type KekResolver } from '../crypto/value-cipher.ts'
import { createValueReader } from '../domain/key-values.ts'
import { createKeyService } from '../domain/keys.ts'
import { reportUnreachableKeks } from '../events/kek-unreachable.ts'
import type { Clock } from '../lib/clock.ts'
import { createRecordCache } from '../lib/record-cache.ts'
import type { Logger } from '../logger.ts'
import { createKekAlertStore } from '../storage/kek-alerts.ts'
import type { KeyRecord } from '../storage/key-items.ts'
import { createKeyRepository } from '../storage/keys-repo.ts'
import type { LastUsedTracker } from '../storage/last-used.ts'
import { createMockSecretSource } from '../storage/mock-secret.ts'
import { createUsageCounter, noUsageCounter } from '../storage/usage.ts'

export interface KeyWiring {
  doc: DynamoDBDocumentClient
  table: string
  config: Readonly<Config>
  clock: Clock
  logger: Logger
  /** Which KEK opens what (the tenants' own keys or the platform key). */
  keks: KekResolver
  dekCache: DekCache
  lastUsed: LastUsedTracker
  /** Told when a change queued an event (webhooks). */
  onEvent: () => void
}

/**
 * Keys and their values, wired (part of the composition root, deps.ts): the key records'
 * cache within the staleness bound, the cipher behind the data-key cache (which reports
 * unreachable KEKs), the key service, the value reader and the usage counter.
 */
export function buildKeys({
  doc,
  table,
  config,
  clock,
  logger,
  keks,
  dekCache,
  lastUsed,
  onEvent,
}: KeyWiring) {
  const cipher = reportUnreachableKeks(createValueCipher({ keks, dekCache }), {
    alerts: createKekAlertStore({ doc, table }),
    clock,
    logger,
    onEvent,
  })
  const keyRepository = createKeyRepository({ doc, table })
  const keyCache = createRecordCache<KeyRecord | undefined>({
    stalenessMs: config.cache.recordStalenessMs,
    clock,
  })
  const keyService = createKeyService({
    keys: keyRepository,
    cipher,
    cache: keyCache,
    config,
    clock,
    onEvent,
  })
  const usage = createUsageCounter({ doc, table, clock, logger })
  const reveal = createValueReader({
    keyService,
    keys: keyRepository,
    cipher,
    mockSecret: createMockSecretSource({ doc, table, configured: config.mockSecret }),
    config,
    lastUsed,
    usage: config.usage.enabled ? usage : noUsageCounter,
  })
  return { keyService, keyCache, reveal, usage }
}
