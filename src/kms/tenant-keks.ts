import type { DekCache } from '../crypto/dek-cache.ts'
import { openValue } from '../crypto/envelope.ts'
import type { SealedRecord } from '../crypto/record.ts'
import type { KekResolver } from '../crypto/value-cipher.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import { createRecordCache } from '../lib/record-cache.ts'
import type { Logger } from '../logger.ts'
import type { KekStore } from '../storage/kek-store.ts'
import { explainingErrors } from './kek-errors.ts'
import type { KekProvider } from './kek-provider.ts'
import {
  activeKek,
  type KekRecord,
  kekRefOf,
  kekVersion,
  RAW_MATERIAL_KEY_ID,
} from './kek-records.ts'
import type { KekRef } from './key-provider.ts'
import { type KmsClientPool, parseKeyArn } from './kms-clients.ts'
import { createKmsKekProvider } from './kms-kek.ts'
import { createRawKeyProvider } from './raw-key.ts'

export interface TenantKekResolverOptions {
  store: Pick<KekStore, 'list'>
  clients: KmsClientPool
  dekCache: DekCache
  platformKeyId: string
  platformRegion: string
  /** How long KEK records may be served from memory (see `kekStalenessMs`). */
  stalenessMs: number
  /** The server's data-key cache TTL (config.cache.dekTtlSeconds). */
  serverTtlSeconds: number
  clock: Clock
  logger: Logger
}

/**
 * Which KEK each tenant uses, from its KEK records (kms/kek-records.ts), read from DynamoDB
 * and kept in memory within the record staleness bound; a change made through this instance
 * is seen here at once (`invalidate`). Providers are built once per tenant and version.
 */
export function createTenantKekResolver(options: TenantKekResolverOptions) {
  const { store, clients, dekCache, platformKeyId, platformRegion, clock, logger } = options
  const cache = createRecordCache<KekRecord[]>({ stalenessMs: options.stalenessMs, clock })
  // The TTL check on the read path is synchronous: it reads the last records seen, refreshed
  // in the background at most once per staleness bound.
  const known = new Map<string, { ttl: number | undefined; loadedAt: number }>()
  const providers = new Map<string, KekProvider>()
  const platformTarget = { client: clients.clientFor(platformRegion), keyId: platformKeyId }

  async function records(tenantId: string, { fresh = false } = {}): Promise<KekRecord[]> {
    if (fresh) cache.invalidate(tenantId)
    const list = await cache.get(tenantId, async () => {
      const loaded = await store.list(tenantId)
      const active = loaded.find((r) => r.status === 'active')
      known.set(tenantId, { ttl: active?.dataKeyCacheTtlSeconds, loadedAt: clock.now() })
      return loaded
    })
    return list
  }

  const ttlInForce = (tenantId: string) =>
    Math.min(options.serverTtlSeconds, known.get(tenantId)?.ttl ?? options.serverTtlSeconds)

  function providerFor(record: KekRecord): KekProvider {
    const id = `${record.tenantId}#${record.version}`
    const built = providers.get(id)
    if (built) return built
    const provider = buildProvider(record)
    if (providers.size >= 10_000) providers.delete(providers.keys().next().value ?? '')
    providers.set(id, provider)
    return provider
  }

  function buildProvider(record: KekRecord): KekProvider {
    const kek = kekRefOf(record)
    if (record.provider === 'platform') {
      return createKmsKekProvider({ kek, targets: [platformTarget] })
    }
    if (record.provider === 'raw') {
      const sealed = record.sealedMaterial
      return createRawKeyProvider({ kek, material: () => openMaterial(record, sealed) })
    }
    const role = record.roleArn
      ? {
          roleArn: record.roleArn,
          externalId: record.externalId ?? '',
          sessionName: `keystash-${record.tenantId}`,
        }
      : undefined
    const targets = [record.keyId, ...(record.replicaArns ?? [])].map((arn) => ({
      client: clients.clientFor(parseKeyArn(arn)?.region ?? platformRegion, role),
      keyId: arn,
    }))
    return explainingErrors(createKmsKekProvider({ kek, targets }), () =>
      ttlInForce(record.tenantId),
    )
  }

  const platformUnwrap = createKmsKekProvider({
    kek: { provider: 'platform', keyId: platformKeyId, version: 1 },
    targets: [platformTarget],
  })

  /** A raw key is opened through the DEK cache, so it is held no longer than any data key. */
  async function openMaterial(record: KekRecord, sealed: SealedRecord | undefined) {
    if (!sealed) throw new AppError('kek_not_found', 'This raw key-encryption key was erased.')
    const ttlSeconds = ttlInForce(record.tenantId)
    return openValue({
      record: sealed,
      tenantId: record.tenantId,
      keyId: RAW_MATERIAL_KEY_ID,
      version: record.version,
      unwrap: ({ wrapped, context }) =>
        dekCache.getDek({ tenantId: record.tenantId, wrapped, ttlSeconds }, () =>
          platformUnwrap.unwrapDataKey(wrapped, context),
        ),
    })
  }

  async function forRecord(tenantId: string, kek: KekRef): Promise<KekProvider> {
    let record = kekVersion(await records(tenantId), kek.version, tenantId, platformKeyId)
    // A version created through another instance in the last moments: look again, once.
    if (!record)
      record = kekVersion(
        await records(tenantId, { fresh: true }),
        kek.version,
        tenantId,
        platformKeyId,
      )
    // The platform key's id is the server's setting and may be respelled (alias, ARN): only
    // a tenant's own key must match exactly what the record names.
    const platform = kek.provider === 'platform'
    if (!record || record.provider !== kek.provider || (!platform && record.keyId !== kek.keyId)) {
      throw new AppError('decryption_failed')
    }
    if (record.status === 'retired') {
      // The job retires a version only once no record uses it: reaching this is a bug, and a
      // retired key is never called again.
      logger.error({ tenantId, kekVersion: kek.version }, 'a record is sealed under a retired KEK')
      throw new AppError('decryption_failed')
    }
    return providerFor(record)
  }

  const resolver = {
    async active(tenantId: string): Promise<KekProvider> {
      return providerFor(activeKek(await records(tenantId), tenantId, platformKeyId))
    },

    forRecord,

    cacheTtlSeconds(tenantId: string): number | undefined {
      const seen = known.get(tenantId)
      if (!seen || clock.now() - seen.loadedAt >= options.stalenessMs) {
        records(tenantId).catch((error: unknown) =>
          logger.warn({ tenantId, error: (error as Error).message }, 'KEK records refresh failed'),
        )
      }
      return seen?.ttl
    },

    /** The TTL reads of this tenant's data keys are cached for, as far as this instance knows. */
    ttlInForce,
    records,
    providerFor,
    invalidate(tenantId: string): void {
      cache.invalidate(tenantId)
    },
  }
  return resolver satisfies KekResolver
}

export type TenantKekResolver = ReturnType<typeof createTenantKekResolver>
