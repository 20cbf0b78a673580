import type { GetValueResult } from '../types.ts'

/**
 * The opt-in memory of key values (both features are off unless asked for):
 * - `valueCache: { ttlMs }` answers `getValue` from memory for `ttlMs` after the server last
 *   answered. Fewer requests, but a rotated, revoked or re-moded key keeps being served for up
 *   to `ttlMs`, and plaintext values sit in this process's memory that long.
 * - `staleIfError: { maxStaleMs }` keeps the last value and hands it out when the server cannot
 *   be reached (connection error, timeout, 5xx) for up to `maxStaleMs` after it was fetched.
 *   An outage then does not take the application down, but a key revoked during the outage
 *   keeps working for it. Never for 401, 403 or 404: those forget the key at once.
 * Entries are keyed by (ref, version), bounded in number (least recently used out first) and
 * dropped when this client writes or deletes the key.
 */
export interface ValueCacheOptions {
  ttlMs: number
  /** Default 1,000. */
  maxEntries?: number
}

export interface StaleIfErrorOptions {
  maxStaleMs: number
}

interface Entry {
  result: GetValueResult
  storedAt: number
  ref: string
}

export type ValueMemory = ReturnType<typeof createValueMemory>

export function createValueMemory(
  options: {
    valueCache?: ValueCacheOptions | undefined
    staleIfError?: StaleIfErrorOptions | undefined
  },
  now: () => number = () => Date.now(),
) {
  const ttlMs = options.valueCache?.ttlMs ?? 0
  const maxStaleMs = options.staleIfError?.maxStaleMs ?? 0
  for (const [name, value] of [
    ['valueCache.ttlMs', ttlMs],
    ['staleIfError.maxStaleMs', maxStaleMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be >= 0`)
  }
  const maxEntries = options.valueCache?.maxEntries ?? 1000
  const enabled = ttlMs > 0 || maxStaleMs > 0
  const entries = new Map<string, Entry>()
  const keyOf = (ref: string, version: number | undefined) => `${ref}\u0000${version ?? ''}`

  function read(ref: string, version: number | undefined, maxAgeMs: number, stale: boolean) {
    const key = keyOf(ref, version)
    const entry = entries.get(key)
    if (!entry) return undefined
    const ageMs = now() - entry.storedAt
    if (ageMs > Math.max(ttlMs, maxStaleMs)) {
      entries.delete(key)
      return undefined
    }
    if (ageMs > maxAgeMs) return undefined
    entries.delete(key)
    entries.set(key, entry)
    return { ...entry.result, cached: { ageMs, stale } } satisfies GetValueResult
  }

  return {
    enabled,
    /** A value fetched less than `ttlMs` ago. */
    fresh: (ref: string, version: number | undefined) =>
      ttlMs > 0 ? read(ref, version, ttlMs, false) : undefined,
    /** A value fetched less than `maxStaleMs` ago, for when the server is unreachable. */
    stale: (ref: string, version: number | undefined) =>
      maxStaleMs > 0 ? read(ref, version, maxStaleMs, true) : undefined,
    remember(ref: string, version: number | undefined, result: GetValueResult) {
      if (!enabled) return
      const key = keyOf(ref, version)
      entries.delete(key)
      entries.set(key, { result, storedAt: now(), ref })
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value
        if (oldest === undefined) break
        entries.delete(oldest)
      }
    },
    /** Drops every entry for this key, whether it was read by id or by name. */
    forget(ref: string) {
      for (const [key, entry] of entries) {
        if (entry.ref === ref || entry.result.keyId === ref || entry.result.name === ref) {
          entries.delete(key)
        }
      }
    },
    clear: () => entries.clear(),
  }
}
