import type { KekRef, KeyProvider } from '../kms/key-provider.ts'
import type { Maybe } from '../lib/maybe.ts'
import type { DekCache, DekLookup } from './dek-cache.ts'
import { openWithAad, sealValue, type UnwrapDataKey } from './envelope.ts'
import { FORMAT_VERSION, type SealedRecord, type ValuePlace, valueAad } from './record.ts'

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
  const lookup = (tenantId: string, wrapped: Uint8Array): DekLookup => {
    const ttlSeconds = keks.cacheTtlSeconds?.(tenantId)
    return ttlSeconds === undefined ? { tenantId, wrapped } : { tenantId, wrapped, ttlSeconds }
  }
  const unwrap: UnwrapDataKey = ({ wrapped, kek, context }) =>
    dekCache.getDek(lookup(context.tenantId, wrapped), async () =>
      (await keks.forRecord(context.tenantId, kek)).unwrapDataKey(wrapped, context),
    )

  // Warm reads get the same record object back from the record cache: its AAD is built once.
  // The AAD depends on the place alone, so an entry is used only for the place it was built for.
  const aads = new WeakMap<object, { place: ValuePlace; aad: Buffer }>()
  const aadFor = (place: ValuePlace, record: SealedRecord): Buffer => {
    const known = aads.get(record)
    if (
      known !== undefined &&
      known.place.tenantId === place.tenantId &&
      known.place.keyId === place.keyId &&
      known.place.version === place.version
    ) {
      return known.aad
    }
    const aad = valueAad(FORMAT_VERSION, place)
    aads.set(record, { place: { ...place }, aad })
    return aad
  }

  return {
    async seal(place: ValuePlace, plaintext: Uint8Array): Promise<SealedRecord> {
      const provider = await keks.active(place.tenantId)
      return sealValue({ provider, plaintext, ...place })
    },

    /**
     * The caller owns the returned buffer and should zero it once the response is built. At
     * once when the record's data key is in the data-key cache; a promise when KMS unwraps it.
     */
    open(place: ValuePlace, record: SealedRecord): Maybe<Buffer> {
      const aad =
        typeof record === 'object' && record !== null
          ? aadFor(place, record)
          : valueAad(FORMAT_VERSION, place)
      return openWithAad(record, aad, place, unwrap)
    },
  }
}

export type ValueCipher = ReturnType<typeof createValueCipher>
