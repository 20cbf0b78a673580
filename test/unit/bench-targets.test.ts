import { describe, expect, it } from 'vitest'
import type { ResultRow } from '../../tools/bench/report.ts'
import type { Scenario, Target } from '../../tools/bench/scenario.ts'
import {
  checkTargets,
  formatSummaries,
  formatTargets,
  ratioText,
  summariseRounds,
} from '../../tools/bench/targets.ts'

// The bench's verdicts on the targets, computed from the baselines of the same run.
const row = (scenario: string, concurrency: number, rps: number, p99: number, extra = {}) =>
  ({
    scenario,
    concurrency,
    rps,
    p50: p99 / 2,
    p99,
    requests: rps,
    errors: 0,
    ...extra,
  }) as ResultRow

const rows = [
  row('hono-hello', 32, 20_000, 4, { baseline: 'ceiling' }),
  row('dynamodb-getitem', 32, 1_000, 60, { baseline: 'floor' }),
  row('dynamodb-getitem', 1, 400, 5, { baseline: 'floor' }),
  row('value-read', 32, 850, 200),
  row('value-read', 1, 300, 4),
]
const scenario = (targets: Target[]) =>
  ({ name: 'value-read', description: '', targets }) as unknown as Scenario

describe('checkTargets', () => {
  it('compares req/s with the baseline at 32 concurrent by default', () => {
    const [met, missed] = checkTargets(
      [
        scenario([
          { metric: 'rps', of: 'floor', atLeast: 0.8 },
          { metric: 'rps', of: 'ceiling', atLeast: 0.25 },
        ]),
      ],
      rows,
    )
    expect(met).toMatchObject({ concurrency: 32, met: true })
    expect(met?.ratio).toBeCloseTo(0.85)
    expect(missed).toMatchObject({ goal: 'req/s >= 0.25x ceiling', met: false })
    expect(missed?.ratio).toBeCloseTo(0.0425)
  })

  it('holds p99 to at most a multiple of the baseline’s p99', () => {
    const [tooSlow, fine] = checkTargets(
      [
        scenario([
          { metric: 'p99', of: 'floor', atMost: 3 },
          { metric: 'p99', of: 'floor', atMost: 1, concurrency: 1 },
        ]),
      ],
      rows,
    )
    expect(tooSlow).toMatchObject({ met: false })
    expect(tooSlow?.ratio).toBeCloseTo(200 / 60)
    expect(fine).toMatchObject({ concurrency: 1, met: true, ratio: 0.8 })
  })

  it('says "not measured" when the level or the baseline was not run', () => {
    const results = checkTargets(
      [scenario([{ metric: 'rps', of: 'ceiling', atLeast: 0.25, concurrency: 1 }])],
      rows,
    )
    expect(results[0]?.met).toBeUndefined()
    expect(formatTargets(results)).toContain('not measured at 1 concurrent')
  })
})

describe('summariseRounds', () => {
  it('judges each target on the median of its rounds and shows the spread', () => {
    const targets = scenario([
      { metric: 'rps', of: 'floor', atLeast: 0.8 },
      { metric: 'p99', of: 'floor', atMost: 3 },
    ])
    const round = (rps: number, p99: number) =>
      checkTargets([targets], [rows[0], rows[1], row('value-read', 32, rps, p99)] as ResultRow[])
    // rps ratios 0.7, 0.9, 0.85 (median 0.85: met); p99 ratios 2, 4, 3.5 (median 3.5: missed)
    const [rps, p99] = summariseRounds([round(700, 120), round(900, 240), round(850, 210)])
    expect(rps).toMatchObject({ median: 0.85, met: true })
    expect(rps?.ratios.map((r) => r.toFixed(2))).toEqual(['0.70', '0.90', '0.85'])
    expect(p99).toMatchObject({ median: 3.5, met: false })
    expect(formatSummaries([rps, p99] as never)).toContain('median 0.85x (0.70, 0.90, 0.85): met')
  })
})

describe('ratioText', () => {
  it('adds decimals when two would round a ratio onto its bound', () => {
    expect(ratioText(0.2496, { atLeast: 0.25 })).toBe('0.2496')
    expect(ratioText(0.2504, { atLeast: 0.25 })).toBe('0.2504')
    expect(ratioText(0.249996, { atLeast: 0.25 })).toBe('0.25000')
    expect(ratioText(0.25, { atLeast: 0.25 })).toBe('0.25')
    expect(ratioText(0.2449, { atLeast: 0.25 })).toBe('0.24')
    expect(ratioText(2.996, { atMost: 3 })).toBe('2.996')
    expect(ratioText(0.41, { atMost: 3 })).toBe('0.41')
  })

  it('is what the verdicts print', () => {
    const edge = [
      row('hono-hello', 32, 10_000, 4, { baseline: 'ceiling' }),
      row('value-read', 32, 2_496, 8),
    ]
    const results = checkTargets(
      [scenario([{ metric: 'rps', of: 'ceiling', atLeast: 0.25 }])],
      edge,
    )
    expect(formatTargets(results)).toContain('-> 0.2496x: NOT MET')
    expect(formatSummaries(summariseRounds([results, results, results]))).toContain(
      'median 0.2496x (0.2496, 0.2496, 0.2496): NOT MET',
    )
  })
})
