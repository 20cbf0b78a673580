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
  /** The bound the ratio must reach: at least (req/s) or at most (p99). */
  bound: { atLeast: number } | { atMost: number }
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
      const bound =
        target.metric === 'rps' ? { atLeast: target.atLeast } : { atMost: target.atMost }
      const result: TargetResult = { scenario: scenario.name, concurrency, goal, bound }
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
        : `${ratioText(result.ratio, result.bound)}x: ${result.met ? 'met' : 'NOT MET'}`
    return `  ${result.scenario} @${result.concurrency}: ${result.goal} -> ${outcome}`
  })
  return ['targets:', ...lines].join('\n')
}

/** A target over several rounds: the median ratio decides, the spread is shown beside it. */
export interface TargetSummary {
  scenario: string
  concurrency: number
  goal: string
  bound: TargetResult['bound']
  ratios: number[]
  median?: number
  met?: boolean
}

/**
 * Each round is a full run with its own baselines, so each round gives one ratio per target;
 * the machine's noise shows as the spread between rounds instead of hiding in one figure.
 */
export function summariseRounds(rounds: TargetResult[][]): TargetSummary[] {
  const byTarget = new Map<string, TargetSummary & { goals: TargetResult[] }>()
  for (const results of rounds) {
    for (const result of results) {
      const id = `${result.scenario}|${result.concurrency}|${result.goal}`
      const summary = byTarget.get(id) ?? {
        scenario: result.scenario,
        concurrency: result.concurrency,
        goal: result.goal,
        bound: result.bound,
        ratios: [],
        goals: [],
      }
      summary.goals.push(result)
      if (result.ratio !== undefined) summary.ratios.push(result.ratio)
      byTarget.set(id, summary)
    }
  }
  return [...byTarget.values()].map(({ goals, ...summary }) => {
    if (summary.ratios.length === 0) return summary
    const sorted = [...summary.ratios].sort((a, b) => a - b)
    const middle = sorted.length / 2
    const median = Number.isInteger(middle)
      ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
      : (sorted[Math.floor(middle)] as number)
    const { bound } = summary
    const met = 'atLeast' in bound ? median >= bound.atLeast : median <= bound.atMost
    return { ...summary, median, met }
  })
}

export function formatSummaries(summaries: TargetSummary[]): string {
  const lines = summaries.map((summary) => {
    if (summary.median === undefined)
      return `  ${summary.scenario} @${summary.concurrency}: ${summary.goal} -> not measured`
    const spread = summary.ratios.map((ratio) => ratioText(ratio, summary.bound)).join(', ')
    const verdict = summary.met ? 'met' : 'NOT MET'
    return `  ${summary.scenario} @${summary.concurrency}: ${summary.goal} -> median ${ratioText(summary.median, summary.bound)}x (${spread}): ${verdict}`
  })
  return [`targets over ${summaries[0]?.ratios.length ?? 0} rounds:`, ...lines].join('\n')
}

/**
 * Two decimals, or as many more (up to five) as it takes not to round a ratio onto its bound:
 * 0.2496 is not 0.25 and must not read as if it were.
 */
export function ratioText(ratio: number, bound: TargetResult['bound']): string {
  const limit = 'atLeast' in bound ? bound.atLeast : bound.atMost
  let digits = 2
  while (ratio !== limit && digits < 5 && ratio.toFixed(digits) === limit.toFixed(digits)) digits++
  return ratio.toFixed(digits)
}
