import { prepareReencryptionBench, type ReencryptionBench } from '../reencryption.ts'
import type { BenchContext, Scenario } from '../scenario.ts'

/**
 * Bring-your-own-key figures.
 *
 * - `reencryption-rate`: the re-encryption job on 10,000 keys against the local KMS, from the
 *   KEK change to the job's end, with its rate limit lifted; `rps` is records re-wrapped per
 *   second. The job's own parallelism is fixed, so every concurrency level measures the same
 *   thing again.
 * - `value-read-during-job`: value reads in this process with a job running throughout at the
 *   server's default rate, against the same reads without a job (target: at least 0.7 of
 *   them), over 16 hot keys (the row) and over every key in turn, all cold (printed).
 * - `value-read-during-rekey`: the same with a forced re-key running instead (every value
 *   opened and sealed again under a fresh data key), against the same reads without one.
 */
function byokScenario(
  name: string,
  description: string,
  keys: number,
  recordsPerSecond: number | undefined,
  run: (
    bench: ReencryptionBench,
    context: BenchContext,
    concurrency: number,
  ) => ReturnType<Scenario['run']>,
): Scenario {
  let bench: ReencryptionBench | undefined
  let context: BenchContext | undefined
  return {
    name,
    description,
    // Minutes per measurement, and judged against its own run without a job, not a baseline.
    once: true,
    async setup(benchContext) {
      context = benchContext
      const [dynamodbEndpoint, kms] = await Promise.all([
        benchContext.dynamodbEndpoint(),
        benchContext.kms(),
      ])
      bench = await prepareReencryptionBench({
        dynamodbEndpoint,
        kmsUrl: kms.url,
        keys,
        ...(recordsPerSecond ? { recordsPerSecond } : {}),
      })
    },
    run(concurrency) {
      if (!bench || !context) throw new Error(`${name}: run() before setup()`)
      return run(bench, context, concurrency)
    },
    async teardown() {
      await bench?.close()
    },
  }
}

export const reencryptionRateScenario = (keys = 10_000) =>
  byokScenario(
    'reencryption-rate',
    `re-encryption job on ${keys.toLocaleString('en-US')} keys, local KMS, records/s (rate limit lifted)`,
    keys,
    // The job's own speed, not its default limit of 200 records/s.
    100_000,
    async (bench) => {
      const { records, seconds, recordsPerSecond, failed } = await bench.rotate()
      console.error(
        `  ${records} records in ${seconds.toFixed(1)} s: ${Math.round(recordsPerSecond)} records/s`,
      )
      return {
        rps: recordsPerSecond,
        p50: Number.NaN,
        p99: Number.NaN,
        requests: records,
        errors: failed,
      }
    },
  )

export const readDuringJobScenario = (keys = 10_000, job: 'reencrypt' | 'rekey' = 'reencrypt') =>
  byokScenario(
    job === 'rekey' ? 'value-read-during-rekey' : 'value-read-during-job',
    job === 'rekey'
      ? 'value reads (in process) while a forced re-key runs at its default rate, against none'
      : 'value reads (in process) while a re-encryption job runs at its default rate, against none',
    keys,
    undefined,
    async (bench, context, concurrency) => {
      const load = { concurrency, seconds: context.seconds, warmupSeconds: context.warmupSeconds }
      const ratio = async (hotKeys?: number) => {
        const quiet = await bench.reads({ ...load, during: false, ...(hotKeys ? { hotKeys } : {}) })
        const busy = await bench.reads({ ...load, during: job, ...(hotKeys ? { hotKeys } : {}) })
        const what = hotKeys ? `${hotKeys} hot keys` : 'every key in turn (all cold)'
        console.error(
          `  ${what}: no job ${Math.round(quiet.rps)} reads/s, during a ${job} job ${Math.round(busy.rps)} reads/s: ratio ${(busy.rps / quiet.rps).toFixed(2)}; the job moved ${busy.jobRecords} records meanwhile`,
        )
        const { jobRecords: _, ...measurement } = busy
        return measurement
      }
      // The row (and the target) is the read path as applications use it: their own few keys.
      const hot = await ratio(HOT_KEYS)
      await ratio()
      return hot
    },
  )

const HOT_KEYS = 16
