import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { createHistogramFamily, type HistogramCell } from './histogram-cells.ts'

/**
 * Every metric the server exposes, in one registry of its own (not prom-client's global one,
 * so that several instances in one process, as in tests, never share counts).
 *
 * Labels are closed sets chosen by the code: HTTP method, route template, status class, AWS
 * operation, outcome. Never a tenant id, key name, token id or anything a caller sends, which
 * would leak who uses the server and let a caller grow the series without bound.
 */

// Seconds. A warm value read takes tens of microseconds; a cold one waits for KMS.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** What the metrics read when they are scraped (nothing is counted per request for these). */
export interface MetricSources {
  dekCache?: () => {
    hits: number
    misses: number
    evictions: number
    expirations: number
    size: number
  }
  recordCaches?: Record<string, () => { hits: number; misses: number; size: number }>
  auditPending?: () => number
}

export function createMetrics({ processMetrics = true }: { processMetrics?: boolean } = {}) {
  const registry = new Registry()
  if (processMetrics) collectDefaultMetrics({ register: registry })

  const httpFamily = createHistogramFamily({
    name: 'keystash_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'],
    buckets: LATENCY_BUCKETS,
    counterName: 'keystash_http_requests_total',
    counterHelp: 'HTTP requests answered, by method, route template and status class',
  })
  httpFamily.register(registry)
  const httpCells = new Map<string, HistogramCell>()

  /**
   * The cell for a request's answer. `route` is Hono's template (`/v1/keys/:ref`), or
   * undefined for a path no route matched.
   */
  function httpCell(method: string, route: string | undefined, status: number): HistogramCell {
    const key = `${method} ${route} ${status}`
    let cell = httpCells.get(key)
    if (cell === undefined) {
      cell = httpFamily.cell(
        METHODS.has(method) ? method : 'other',
        route === undefined ? 'unmatched' : route.replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
        `${Math.floor(status / 100)}xx`,
      )
      // Statuses are a small set, so this map stays small too.
      httpCells.set(key, cell)
    }
    return cell
  }

  const kmsRequests = new Counter({
    name: 'keystash_kms_requests_total',
    help: 'Calls to AWS KMS (and STS), by operation and outcome (ok or the error name)',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  })
  const kmsDuration = new Histogram({
    name: 'keystash_kms_request_duration_seconds',
    help: 'Time of a KMS call, SDK retries included',
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const dynamodbRequests = new Counter({
    name: 'keystash_dynamodb_requests_total',
    help: 'Calls to DynamoDB, by operation and outcome (ok or the error name)',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  })
  const dynamodbThrottles = new Counter({
    name: 'keystash_dynamodb_throttles_total',
    help: 'DynamoDB attempts refused for throughput (the SDK retries them)',
    labelNames: ['operation'],
    registers: [registry],
  })
  const dynamodbDuration = new Histogram({
    name: 'keystash_dynamodb_request_duration_seconds',
    help: 'Time of a DynamoDB call, SDK retries included',
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })

  const rateLimited = new Counter({
    name: 'keystash_rate_limit_refusals_total',
    help: 'Requests refused with 429, by the limit that refused them (token, organization, trust)',
    labelNames: ['limit'],
    registers: [registry],
  })

  const auditFlush = new Histogram({
    name: 'keystash_audit_flush_duration_seconds',
    help: 'Time to write one batch of audit events (blocks and chain heads)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const auditDropped = new Counter({
    name: 'keystash_audit_dropped_events_total',
    help: 'Audit events dropped because the buffer was full (buffered mode)',
    registers: [registry],
  })

  const reencrypted = new Counter({
    name: 'keystash_reencryption_records_total',
    help: 'Data keys handled by re-encryption jobs, by outcome (moved, failed)',
    labelNames: ['outcome'],
    registers: [registry],
  })

  const sources: MetricSources = {}
  const dekCounter = (
    name: string,
    help: string,
    pick: (s: ReturnType<NonNullable<MetricSources['dekCache']>>) => number,
  ) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = sources.dekCache?.()
        this.reset()
        if (stats) this.inc(pick(stats))
      },
    })
  dekCounter('keystash_dek_cache_hits_total', 'Data keys served from the DEK cache', (s) => s.hits)
  dekCounter(
    'keystash_dek_cache_misses_total',
    'Data keys not in the DEK cache (unwrapped by KMS)',
    (s) => s.misses,
  )
  dekCounter(
    'keystash_dek_cache_evictions_total',
    'DEK cache entries pushed out by its size bound',
    (s) => s.evictions,
  )
  dekCounter(
    'keystash_dek_cache_expirations_total',
    'DEK cache entries dropped at the end of their TTL',
    (s) => s.expirations,
  )
  new Gauge({
    name: 'keystash_dek_cache_entries',
    help: 'Data keys held in the DEK cache',
    registers: [registry],
    collect() {
      this.set(sources.dekCache?.().size ?? 0)
    },
  })
  new Counter({
    name: 'keystash_record_cache_hits_total',
    help: 'Token status and key records served from memory, by cache',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [cache, stats] of Object.entries(sources.recordCaches ?? {}))
        this.inc({ cache }, stats().hits)
    },
  })
  new Counter({
    name: 'keystash_record_cache_misses_total',
    help: 'Token status and key records read from DynamoDB, by cache',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [cache, stats] of Object.entries(sources.recordCaches ?? {}))
        this.inc({ cache }, stats().misses)
    },
  })
  new Gauge({
    name: 'keystash_audit_queue_events',
    help: 'Audit events recorded and not yet written',
    registers: [registry],
    collect() {
      this.set(sources.auditPending?.() ?? 0)
    },
  })

  return {
    registry,
    /** Where the scrape-time metrics read from; set once the services exist. */
    watch(more: MetricSources): void {
      Object.assign(sources, more)
    },
    http: {
      cell: httpCell,
      /** Pre-resolved for the early entrance of value reads (reads/entrance.ts). */
      valueRead: httpCell('GET', '/v1/keys/:ref/value', 200),
    },
    aws: {
      kms: { requests: kmsRequests, duration: kmsDuration },
      dynamodb: {
        requests: dynamodbRequests,
        duration: dynamodbDuration,
        throttles: dynamodbThrottles,
      },
    },
    rateLimited: (limit: 'token' | 'organization' | 'trust') => rateLimited.inc({ limit }),
    audit: {
      flushed: (seconds: number) => auditFlush.observe(seconds),
      dropped: (count: number) => auditDropped.inc(count),
    },
    reencryption: {
      moved: () => reencrypted.inc({ outcome: 'moved' }),
      failed: () => reencrypted.inc({ outcome: 'failed' }),
    },
    /** The text exposition, and its content type. */
    async scrape(): Promise<{ body: string; contentType: string }> {
      return { body: await registry.metrics(), contentType: registry.contentType }
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
