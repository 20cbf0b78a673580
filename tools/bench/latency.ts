import type { Measurement } from './scenario.ts'

/**
 * Keeps every latency sample: a 5 s run at tens of thousands of requests per second is a few
 * MB, and exact percentiles spare us a histogram's bucketing (autocannon's own histogram
 * records whole milliseconds, too coarse for a hello-world that answers in 0.05 ms).
 */
export class LatencyRecorder {
  private samples: number[] = []
  errors = 0

  record(milliseconds: number): void {
    this.samples.push(milliseconds)
  }

  summarize(elapsedSeconds: number): Measurement {
    const sorted = Float64Array.from(this.samples).sort()
    return {
      rps: elapsedSeconds > 0 ? sorted.length / elapsedSeconds : 0,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      requests: sorted.length,
      errors: this.errors,
    }
  }
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN
}

export function elapsedSecondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}
