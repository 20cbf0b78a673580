import type { Clock } from './clock.ts'
import type { Maybe } from './maybe.ts'

export interface RecordCacheOptions {
  /** How long a record read from DynamoDB may be served from memory; 0 turns the cache off. */
  stalenessMs: number
  maxEntries?: number
  clock: Clock
}

/**
 * Short-lived memory for records that hold no plaintext (token status, key metadata and
 * ciphertext). It bounds how stale an answer can be: a change made through another instance
 * is seen after at most `stalenessMs`; a change made through this one invalidates at once.
 * Concurrent misses for one id share a single load. A remembered record is returned as it
 * is, not in a promise: a warm read path then runs without waiting (lib/maybe.ts).
 */
export function createRecordCache<T>({
  stalenessMs,
  maxEntries = 50_000,
  clock,
}: RecordCacheOptions) {
  const entries = new Map<string, { value: T; loadedAt: number }>()
  const flights = new Map<string, Promise<T>>()
  // Bumped on invalidate, so a load that started before an invalidation is not stored; `epoch`
  // does the same for every id at once (clear).
  const generations = new Map<string, number>()
  // Counted for the metrics (metrics/metrics.ts reads them when scraped).
  let hits = 0
  let misses = 0
  let epoch = 0

  /** The entry for `id` while it is within the staleness bound. */
  function fresh(id: string): { value: T; loadedAt: number } | undefined {
    if (stalenessMs <= 0) return undefined
    const hit = entries.get(id)
    if (hit && clock.now() - hit.loadedAt < stalenessMs) {
      hits++
      return hit
    }
    return undefined
  }

  /** The record for `id`: as remembered within the bound, else from `load` (a promise). */
  function get(id: string, load: () => Promise<T>): Maybe<T> {
    const hit = fresh(id)
    if (hit) return hit.value
    misses++
    const pending = flights.get(id)
    if (pending) return pending
    const generation = generations.get(id) ?? 0
    const started = epoch
    const loadedAt = clock.now()
    const flight = load()
      .then((value) => {
        if (stalenessMs > 0 && (generations.get(id) ?? 0) === generation && epoch === started) {
          entries.delete(id)
          entries.set(id, { value, loadedAt })
          if (entries.size > maxEntries) {
            const oldest = entries.keys().next().value
            if (oldest !== undefined) entries.delete(oldest)
          }
        }
        return value
      })
      .finally(() => flights.delete(id))
    flights.set(id, flight)
    return flight
  }

  function invalidate(id: string): void {
    entries.delete(id)
    flights.delete(id)
    generations.set(id, (generations.get(id) ?? 0) + 1)
  }

  /** Forgets everything, including loads in flight (they are not stored when they land). */
  function clear(): void {
    entries.clear()
    flights.clear()
    epoch += 1
  }

  return {
    get,
    invalidate,
    clear,
    size: () => entries.size,
    /** Lookups answered from memory and lookups that needed a load (or joined one). */
    stats: () => ({ hits, misses, size: entries.size }),
  }
}

export type RecordCache<T> = ReturnType<typeof createRecordCache<T>>
