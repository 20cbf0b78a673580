import type { ResultRow } from './report.ts'
import type { Scenario } from './scenario.ts'

export interface TargetResult {
  scenario: string
  concurrency: number
  /** e.g. "req/s >= 0.25x ceiling". */
  goal: string
  /** The measured ratio; absent when a row it needs was not measured. */
  ratio?: number
  met?: boolean
}

const DEFAULT_CONCURRENCY = 32

/** Each scenario's targets, checked against the baselines measured in the same run. */
export function checkTargets(scenarios: Scenario[], rows: ResultRow[]): TargetResult[] {
  return scenarios.flatMap((scenario) =>
    (scenario.targets ?? []).map((target) => {
      const concurrency = target.concurrency ?? DEFAULT_CONCURRENCY
      const at = (match: (row: ResultRow) => boolean) =>
        rows.find((row) => row.concurrency === concurrency && match(row))
      const row = at((r) => r.scenario === scenario.name)
      const baseline = at((r) => r.baseline === target.of || r.scenario === target.of)
      const goal =
        target.metric === 'rps'
          ? `req/s >= ${target.atLeast}x ${target.of}`
          : `p99 <= ${target.atMost}x ${target.of}'s p99`
      const result: TargetResult = { scenario: scenario.name, concurrency, goal }
      if (!row || !baseline) return result
      if (target.metric === 'rps') {
        const ratio = row.rps / baseline.rps
        return { ...result, ratio, met: ratio >= target.atLeast }
      }
      const ratio = row.p99 / baseline.p99
      return { ...result, ratio, met: ratio <= target.atMost }
    }),
  )
}

export function formatTargets(results: TargetResult[]): string {
  if (results.length === 0) return ''
  const lines = results.map((result) => {
    const outcome =
      result.ratio === undefined
        ? `not measured at ${result.concurrency} concurrent`
        : `${result.ratio.toFixed(2)}x: ${result.met ? 'met' : 'NOT MET'}`
    return `  ${result.scenario} @${result.concurrency}: ${result.goal} -> ${outcome}`
  })
  return ['targets:', ...lines].join('\n')
}
