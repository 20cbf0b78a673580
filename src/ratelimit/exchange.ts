import type { Logger } from '../logger.ts'
import type { RateCounterStore } from '../storage/rate-counters.ts'
import type { RateLimiter } from './limiter.ts'

export interface RateExchangeOptions {
  limiter: Pick<RateLimiter, 'active'>
  store: RateCounterStore
  /** How often each instance reports its admissions and learns the others'. */
  intervalMs: number
  logger: Logger
}

/**
 * Keeps the buckets of several instances in step without a DynamoDB call per request.
 * Every `intervalMs`, each instance adds what it admitted per bucket to that bucket's shared
 * counter (one UpdateItem per active bucket, which returns the new total) and debits from its
 * own bucket whatever the total grew by beyond its own report: the other instances' requests.
 * Buckets with nothing to report only read the total.
 *
 * The bound that follows (README, "Rate limits"): between two exchanges each of N instances
 * admits at most what its own bucket holds, so in any window the instances together admit at
 * most the limit plus (N - 1) x (burst + rate x interval); the debt this leaves is paid back by
 * the refill, so over time they admit the limit itself.
 */
export function createRateExchange({ limiter, store, intervalMs, logger }: RateExchangeOptions) {
  // The last total seen per bucket: growth beyond it that this instance did not add is remote.
  const seen = new Map<string, number>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  async function exchangeOne(key: string, bucket: ReturnType<RateLimiter['active']>[number][1]) {
    const own = bucket.unreported
    bucket.unreported = 0
    let total: number
    try {
      total = own > 0 ? await store.add(key, own) : await store.read(key)
    } catch (error) {
      // Reported next time; meanwhile the local bucket still limits this instance.
      bucket.unreported += own
      throw error
    }
    const before = seen.get(key)
    seen.set(key, total)
    // The first exchange of a bucket only learns where the counter stands.
    if (before === undefined) return
    const remote = total - before - own
    if (remote > 0) bucket.debit(remote)
  }

  /** One exchange of every active bucket (also what the timer runs). */
  async function exchange(): Promise<void> {
    const active = limiter.active()
    const keys = new Set(active.map(([key]) => key))
    for (const key of seen.keys()) if (!keys.has(key)) seen.delete(key)
    const results = await Promise.allSettled(active.map(([key, b]) => exchangeOne(key, b)))
    const failed = results.filter((r) => r.status === 'rejected').length
    if (failed > 0)
      logger.warn({ failed }, 'rate-limit counts not exchanged; retrying next interval')
  }

  return {
    exchange,
    start(): void {
      if (timer || intervalMs <= 0) return
      timer = setInterval(() => {
        running ??= exchange().finally(() => {
          running = undefined
        })
      }, intervalMs)
      timer.unref()
    },
    async stop(): Promise<void> {
      clearInterval(timer)
      timer = undefined
      await running
    },
  }
}

export type RateExchange = ReturnType<typeof createRateExchange>
