import type { KekRef, KeyProvider } from '../kms/key-provider.ts'
import type { DekCache } from './dek-cache.ts'
import { openValue, sealValue } from './envelope.ts'
import type { SealedRecord, ValuePlace } from './record.ts'

/** Which KEK a tenant writes with, and which provider opens a record wrapped by a given KEK. */
export interface KekResolver {
  active(tenantId: string): Promise<KeyProvider>
  forRecord(tenantId: string, kek: KekRef): Promise<KeyProvider>
  /** A tenant's own data-key cache TTL, when it set one lower than the server's. */
  cacheTtlSeconds?(tenantId: string): number | undefined
}

/** Until tenants bring their own keys, every tenant's KEK is the platform key. */
export function platformOnlyResolver(platform: KeyProvider): KekResolver {
  return { active: async () => platform, forRecord: async () => platform }
}

/**
 * Seals and opens API-key values: envelope encryption (envelope.ts) with the tenant's KEK,
 * and the data-key cache in front of every unwrap.
 */
export function createValueCipher({ keks, dekCache }: { keks: KekResolver; dekCache: DekCache }) {
  return {
    async seal(place: ValuePlace, plaintext: Uint8Array): Promise<SealedRecord> {
      const provider = await keks.active(place.tenantId)
      return sealValue({ provider, plaintext, ...place })
    },

    /** The caller owns the returned buffer and should zero it once the response is built. */
    async open(place: ValuePlace, record: SealedRecord): Promise<Buffer> {
      return openValue({
        record,
        ...place,
        unwrap: async ({ wrapped, kek, context }) => {
          const ttlSeconds = keks.cacheTtlSeconds?.(place.tenantId)
          return dekCache.getDek(
            {
              tenantId: place.tenantId,
              wrapped,
              ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
            },
            async () => (await keks.forRecord(place.tenantId, kek)).unwrapDataKey(wrapped, context),
          )
        },
      })
    },
  }
}

export type ValueCipher = ReturnType<typeof createValueCipher>
