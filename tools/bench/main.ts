import { cpus, loadavg, totalmem } from 'node:os'
import { cpuProbe } from './probes.ts'
import { type BenchReport, formatTable, type ResultRow, withRatios, writeReport } from './report.ts'
import type { BenchContext } from './scenario.ts'
import { allScenarios } from './scenarios/index.ts'
import { createSharedServices } from './shared-services.ts'
import { checkTargets, formatSummaries, formatTargets, summariseRounds } from './targets.ts'

/**
 * `npm run bench`: measures every scenario at each concurrency level, prints a table with the
 * ratios to the two baselines of the same run, and writes it as JSON to bench-results/.
 *
 * BENCH_SECONDS (5) per measurement, BENCH_WARMUP_SECONDS (1) before each, BENCH_CONCURRENCY
 * ("1,32"), BENCH_SCENARIOS (comma-separated names; the baselines always run), BENCH_ROUNDS (3:
 * how many times to run the selection, each round with its own baselines; the targets are
 * judged on the median ratio, because on a shared two-core machine one round can be off by a
 * third; scenarios marked `once`, the re-encryption ones, run in the first round only),
 * BENCH_CPU_PROF (a directory: the servers write CPU profiles there).
 */

// The AWS SDK's "Node 22 needed from 2027" warning would land in the middle of the progress.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

// Signals end the process without running `exit` handlers, which stop our child processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(130))
}

const seconds = positiveNumber('BENCH_SECONDS', 5)
const warmupSeconds = positiveNumber('BENCH_WARMUP_SECONDS', 1)
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,32').split(',').map((value) => {
  const level = Number(value.trim())
  if (!Number.isInteger(level) || level < 1)
    throw new Error(`BENCH_CONCURRENCY: bad level "${value}"`)
  return level
})
const rounds = positiveNumber('BENCH_ROUNDS', 3)
if (!Number.isInteger(rounds)) throw new Error('BENCH_ROUNDS must be a whole number')
const wanted = process.env.BENCH_SCENARIOS?.split(',').map((name) => name.trim())
const scenarios = allScenarios().filter((s) => s.baseline || !wanted || wanted.includes(s.name))

const services = createSharedServices(process.env)
const context: BenchContext = {
  seconds,
  warmupSeconds,
  env: process.env,
  dynamodbEndpoint: services.dynamodbEndpoint,
  kms: services.kms,
  cpuProbe: (processes = {}) => cpuProbe({ bench: process.pid, ...services.pids(), ...processes }),
}

const startedAt = new Date().toISOString()
const loadBefore = loadavg()
if ((loadBefore[0] ?? 0) > cpus().length / 2) {
  console.error(
    `warning: load average ${loadBefore[0]?.toFixed(2)}: other work will skew the figures`,
  )
}
const perRound: ResultRow[][] = []
try {
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.error(`round ${round} of ${rounds}`)
    const rows: ResultRow[] = []
    for (const scenario of scenarios) {
      if (scenario.once && round > 1) continue
      console.error(`${scenario.name}: ${scenario.description}`)
      await scenario.setup(context)
      try {
        for (const concurrency of concurrencies) {
          const measurement = await scenario.run(concurrency)
          console.error(`  ${concurrency} concurrent: ${Math.round(measurement.rps)} req/s`)
          rows.push({
            scenario: scenario.name,
            baseline: scenario.baseline,
            concurrency,
            ...(rounds > 1 ? { round } : {}),
            ...measurement,
          })
        }
      } finally {
        await scenario.teardown()
      }
    }
    perRound.push(withRatios(rows))
  }
} finally {
  await services.stop()
}

const report: BenchReport = {
  startedAt,
  finishedAt: new Date().toISOString(),
  settings: { seconds, warmupSeconds, concurrencies, rounds },
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: process.platform,
    // Other work on a shared machine skews results: keep its load beside them.
    loadAverage1mBefore: loadBefore[0],
    loadAverage1mAfter: loadavg()[0],
  },
  results: perRound.flat(),
}
const verdicts = perRound.map((rows) => checkTargets(scenarios, rows))
report.targets = verdicts.flat()
for (const rows of perRound) console.log(`\n${formatTable(rows)}`)
if (rounds > 1) report.summaries = summariseRounds(verdicts)
if (report.summaries?.length) console.log(`\n${formatSummaries(report.summaries)}`)
else if (report.targets.length > 0) console.log(`\n${formatTargets(report.targets)}`)
console.log('')
console.log(
  `${seconds} s per measurement after ${warmupSeconds} s of warm-up; load average ${loadBefore[0]?.toFixed(2)} before, ${loadavg()[0]?.toFixed(2)} after`,
)
console.log(`written to ${await writeReport('bench-results', report)}`)

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number of seconds`)
  return value
}
