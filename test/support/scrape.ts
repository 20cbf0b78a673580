import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { metricsEndpoint } from '../../src/http/metrics-endpoint.ts'
import type { Metrics } from '../../src/metrics/metrics.ts'

/** Scrapes an instance's metrics endpoint and parses the text with a Prometheus parser. */
export async function scrape(metrics: Pick<Metrics, 'scrape'> | undefined) {
  if (!metrics) throw new Error('metrics are off: set KEYSTASH_METRICS_PORT')
  const res = await metricsEndpoint({ metrics }).request('/metrics')
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}`)
  const text = await res.text()
  // The parser validates the whole exposition (it throws on a malformed line) and reads
  // counters and gauges; it merges the series of a labelled histogram, so their `_count`
  // lines are read from the text below.
  const families = parsePrometheusTextFormat(text)
  const family = (name: string) => families.find((f) => f.name === name)
  const matches = (labels: Record<string, string> | undefined, want: Record<string, string>) =>
    Object.entries(want).every(([k, v]) => labels?.[k] === v)
  return {
    families,
    /** A counter's or gauge's value for the labels given (0 when absent). */
    value(name: string, labels: Record<string, string> = {}): number {
      const sample = family(name)?.metrics.find((m) => matches(m.labels, labels))
      return Number(sample?.value ?? 0)
    },
    /** A histogram's count for the labels given (0 when absent). */
    count(name: string, labels: Record<string, string> = {}): number {
      if (family(name)?.type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram`)
      for (const line of text.split('\n')) {
        const match = /^(\w+)_count(?:\{(.*)\})? (\S+)$/.exec(line)
        if (match?.[1] !== name) continue
        const found = Object.fromEntries(
          [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
        )
        if (matches(found, labels)) return Number(match[3])
      }
      return 0
    },
    /** Every label value of every series. */
    labelValues(): string[] {
      return families.flatMap((f) => f.metrics.flatMap((m) => [...Object.values(m.labels ?? {})]))
    },
  }
}
