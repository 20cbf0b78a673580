import type { Registry } from 'prom-client'

/**
 * A histogram whose label combinations are resolved once, into cells that hot paths keep and
 * update with two additions and a short loop. prom-client's own children hash their labels
 * and allocate on every `observe`; here that work happens when the registry is scraped.
 * The family registers itself with a prom-client registry as a collector (`get()`), so it is
 * exposed in the same text format as every other metric.
 */
export class HistogramCell {
  count = 0
  sum = 0
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly buckets: Float64Array

  constructor(private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    this.count++
    this.sum += value
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.buckets[i] = (this.buckets[i] as number) + 1
  }
}

export interface HistogramFamilyOptions<L extends string> {
  name: string
  help: string
  labelNames: readonly L[]
  buckets: readonly number[]
  /** Also expose `<counterName>` as a counter of the observations (e.g. requests_total). */
  counterName?: string
  counterHelp?: string
}

export function createHistogramFamily<L extends string>(options: HistogramFamilyOptions<L>) {
  const { name, help, labelNames, buckets } = options
  const cells = new Map<string, { labels: Record<L, string>; cell: HistogramCell }>()

  /** The cell of one label combination, made on first use; keep it for hot paths. */
  function cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000')
    let entry = cells.get(key)
    if (entry === undefined) {
      const labels = Object.fromEntries(labelNames.map((n, i) => [n, values[i] ?? ''])) as Record<
        L,
        string
      >
      entry = { labels, cell: new HistogramCell(buckets) }
      cells.set(key, entry)
    }
    return entry.cell
  }

  const histogram = {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    get() {
      const values: Array<{
        metricName: string
        labels: Record<string, string | number>
        value: number
      }> = []
      for (const { labels, cell } of cells.values()) {
        let cumulative = 0
        for (let i = 0; i <= buckets.length; i++) {
          cumulative += cell.buckets[i] as number
          const le = i < buckets.length ? (buckets[i] as number) : '+Inf'
          values.push({
            metricName: `${name}_bucket`,
            labels: { ...labels, le },
            value: cumulative,
          })
        }
        values.push({ metricName: `${name}_sum`, labels, value: cell.sum })
        values.push({ metricName: `${name}_count`, labels, value: cell.count })
      }
      return { name, help, type: 'histogram' as const, values, aggregator: 'sum' as const }
    },
  }

  const counter = options.counterName
    ? {
        name: options.counterName,
        help: options.counterHelp ?? help,
        type: 'counter' as const,
        aggregator: 'sum' as const,
        get() {
          const values = [...cells.values()].map(({ labels, cell }) => ({
            labels,
            value: cell.count,
          }))
          return {
            name: options.counterName as string,
            help: options.counterHelp ?? help,
            type: 'counter' as const,
            values,
            aggregator: 'sum' as const,
          }
        },
      }
    : undefined

  return {
    cell,
    register(registry: Registry): void {
      registry.registerMetric(histogram as never)
      if (counter) registry.registerMetric(counter as never)
    },
  }
}

export type HistogramFamily = ReturnType<typeof createHistogramFamily>
