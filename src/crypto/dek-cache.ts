import { hash } from 'node:crypto'
import type { Maybe } from '../lib/maybe.ts'

/**
 * The data-key cache (DESIGN.md section 4), the only place key material is held between
 * requests. Entries are keyed by SHA-256 over (tenant id, wrapped DEK), so two tenants can
 * never share one; bounded, least recently used first out; expired and evicted buffers are
 * overwritten with zeros. Concurrent misses for one DEK make exactly one unwrap call.
 *
 * Callers receive a copy of the DEK that they own and zero after use, never the cached
 * buffer. Eviction can happen at any await (another miss inserts, the bound evicts), so a
 * shared buffer could be zeroed while a caller is still decrypting with it; a callback API
 * would need reference counts to prevent that. A 32-byte copy per read is cheaper than
 * that bookkeeping and cannot go wrong.
 */

export const MAX_DEK_TTL_SECONDS = 3600

export interface DekCacheOptions {
  /** 0 turns caching off: every call unwraps. At most 3,600. */
  ttlSeconds: number
  maxEntries: number
  /** Milliseconds from a monotonic clock; injectable for tests. */
  now?: () => number
}

export interface DekLookup {
  tenantId: string
  wrapped: Uint8Array
  /** A tenant's own TTL: it can lower the server's TTL for its keys, never raise it. */
  ttlSeconds?: number
}

export interface DekCacheStats {
  hits: number
  misses: number
  kmsCalls: number
  /** Entries pushed out by the size bound. */
  evictions: number
  /** Entries dropped because their TTL ran out. */
  expirations: number
  size: number
}

interface Entry {
  tenantId: string
  dek: Buffer
  loadedAt: number
  /** The TTL it was loaded under, so a tenant's lower TTL also bounds how long it is held. */
  ttlMs: number
}

interface Flight {
  promise: Promise<Buffer>
  joined: number
}

// Expired entries that nobody asks for again are swept on misses, at most this often.
const SWEEP_INTERVAL_MS = 1000

export function createDekCache({
  ttlSeconds,
  maxEntries,
  now = () => performance.now(),
}: DekCacheOptions) {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_DEK_TTL_SECONDS) {
    throw new RangeError(`DEK cache ttlSeconds must be between 0 and ${MAX_DEK_TTL_SECONDS}`)
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError('DEK cache maxEntries must be a positive integer')
  }

  // A Map iterates in insertion order; re-inserting on every hit makes that LRU order.
  const entries = new Map<string, Entry>()
  const flights = new Map<string, Flight>()
  // Bumped by clear()/evictTenant() so an unwrap already in flight does not re-insert a DEK.
  const tenantEpochs = new Map<string, number>()
  let epoch = 0
  let lastSweep = now()
  const stats = { hits: 0, misses: 0, kmsCalls: 0, evictions: 0, expirations: 0 }

  const ttlMsFor = (lookup: DekLookup): number => {
    const own = lookup.ttlSeconds
    if (own !== undefined && (!Number.isFinite(own) || own < 0)) {
      throw new RangeError('A DEK cache ttlSeconds override must be 0 or more')
    }
    return Math.min(ttlSeconds, own ?? ttlSeconds) * 1000
  }

  const drop = (key: string, entry: Entry): void => {
    entries.delete(key)
    entry.dek.fill(0)
  }

  const sweepExpired = (): void => {
    const at = now()
    lastSweep = at
    for (const [key, entry] of entries) {
      if (at - entry.loadedAt >= entry.ttlMs) {
        drop(key, entry)
        stats.expirations++
      }
    }
  }

  const insert = (key: string, tenantId: string, dek: Buffer, ttlMs: number): void => {
    const previous = entries.get(key)
    if (previous) drop(key, previous)
    entries.set(key, { tenantId, dek, loadedAt: now(), ttlMs })
    for (const [oldestKey, oldest] of entries) {
      if (entries.size <= maxEntries) break
      drop(oldestKey, oldest)
      stats.evictions++
    }
  }

  // Warm reads pass the same wrapped-key buffer each time (the record cache hands out one
  // record object), so its hash is worked out once per buffer and tenant.
  const keys = new WeakMap<Uint8Array, { tenantId: string; key: string }>()
  const keyFor = (tenantId: string, wrapped: Uint8Array): string => {
    const known = keys.get(wrapped)
    if (known !== undefined && known.tenantId === tenantId) return known.key
    const key = cacheKey(tenantId, wrapped)
    keys.set(wrapped, { tenantId, key })
    return key
  }

  const epochOf = (tenantId: string): string => `${epoch}/${tenantEpochs.get(tenantId) ?? 0}`

  // Every waiter copies the flight's buffer; the last one to copy zeroes it.
  const join = async (flight: Flight): Promise<Buffer> => {
    flight.joined++
    let shared: Buffer
    try {
      shared = await flight.promise
    } catch (error) {
      flight.joined--
      throw error
    }
    const copy = Buffer.from(shared)
    if (--flight.joined === 0) shared.fill(0)
    return copy
  }

  /** A copy of the entry's DEK while it is within both TTLs; an expired entry is dropped. */
  const copyOfFresh = (key: string, ttlMs: number): Buffer | undefined => {
    const entry = entries.get(key)
    if (!entry) return undefined
    if (now() - entry.loadedAt < Math.min(ttlMs, entry.ttlMs)) {
      stats.hits++
      entries.delete(key)
      entries.set(key, entry)
      return Buffer.from(entry.dek)
    }
    drop(key, entry)
    stats.expirations++
    return undefined
  }

  return {
    /**
     * Returns a copy of the DEK for `lookup.wrapped`, calling `unwrap` only on a miss. The
     * cache keeps the buffer `unwrap` returns and zeroes it on eviction or expiry. A failed
     * unwrap is not cached: every caller waiting on it gets the error. A held DEK comes back
     * at once, not in a promise, so a warm read never waits here.
     */
    getDek(lookup: DekLookup, unwrap: () => Promise<Buffer>): Maybe<Buffer> {
      const ttlMs = ttlMsFor(lookup)
      const key = keyFor(lookup.tenantId, lookup.wrapped)
      const cached = copyOfFresh(key, ttlMs)
      if (cached) return cached
      stats.misses++
      if (now() - lastSweep >= SWEEP_INTERVAL_MS) sweepExpired()

      if (ttlMs === 0) {
        stats.kmsCalls++
        return unwrap()
      }

      let flight = flights.get(key)
      if (!flight) {
        const startedIn = epochOf(lookup.tenantId)
        const load = async (): Promise<Buffer> => {
          stats.kmsCalls++
          const dek = await unwrap()
          // Waiters copy from their own buffer, made before anything can evict the entry.
          const shared = Buffer.from(dek)
          if (epochOf(lookup.tenantId) === startedIn) insert(key, lookup.tenantId, dek, ttlMs)
          else dek.fill(0)
          return shared
        }
        const started: Flight = { promise: load().finally(() => flights.delete(key)), joined: 0 }
        flights.set(key, started)
        flight = started
      }
      return join(flight)
    },

    /**
     * Drops one DEK, once its wrapped form has left storage (re-keying gave the value a new
     * one): nothing should need it again, so it is not kept until its TTL. True if it was held.
     */
    forget(tenantId: string, wrapped: Uint8Array): boolean {
      const key = keyFor(tenantId, wrapped)
      const entry = entries.get(key)
      if (!entry) return false
      drop(key, entry)
      return true
    },

    /** Drops one tenant's DEKs, e.g. when it rotates or revokes its KEK. Returns how many. */
    evictTenant(tenantId: string): number {
      tenantEpochs.set(tenantId, (tenantEpochs.get(tenantId) ?? 0) + 1)
      let dropped = 0
      for (const [key, entry] of entries) {
        if (entry.tenantId !== tenantId) continue
        drop(key, entry)
        dropped++
      }
      return dropped
    },

    clear(): void {
      epoch++
      for (const [key, entry] of entries) drop(key, entry)
    },

    sweepExpired,

    stats(): DekCacheStats {
      return { ...stats, size: entries.size }
    },
  }
}

export type DekCache = ReturnType<typeof createDekCache>

/** SHA-256 over (length-prefixed tenant id, wrapped DEK), one-shot: this runs on every read. */
function cacheKey(tenantId: string, wrapped: Uint8Array): string {
  const tenant = Buffer.from(tenantId, 'utf8')
  const length = Buffer.allocUnsafe(4)
  length.writeUInt32BE(tenant.length)
  return hash('sha256', Buffer.concat([length, tenant, wrapped]), 'base64')
}
