import { prepareReencryptionBench, type ReencryptionBench } from '../reencryption.ts'
import type { BenchContext, Scenario } from '../scenario.ts'

/**
 * Bring-your-own-key figures (not yet in index.ts: add them there to run them).
 *
 * - `reencryption-rate`: the re-encryption job on 10,000 keys against the local KMS, from the
 *   KEK change to the job's end; `rps` is records re-wrapped per second. The job's own
 *   parallelism is fixed, so every concurrency level measures the same thing again.
 * - `value-read-during-job`: value reads in this process with a job running throughout;
 *   compare with `value-read-no-job` (target: at least 0.7 of it). Both print the ratio.
 */
function byokScenario(
  name: string,
  description: string,
  keys: number,
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
    async setup(benchContext) {
      context = benchContext
      const [dynamodbEndpoint, kms] = await Promise.all([
        benchContext.dynamodbEndpoint(),
        benchContext.kms(),
      ])
      bench = await prepareReencryptionBench({ dynamodbEndpoint, kmsUrl: kms.url, keys })
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
    `re-encryption job on ${keys.toLocaleString('en-US')} keys, local KMS, records/s`,
    keys,
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

export const readDuringJobScenario = (keys = 10_000) =>
  byokScenario(
    'value-read-during-job',
    'value reads (in process) while a re-encryption job runs, against the same reads without one',
    keys,
    async (bench, context, concurrency) => {
      const load = { concurrency, seconds: context.seconds, warmupSeconds: context.warmupSeconds }
      const quiet = await bench.reads({ ...load, during: false })
      const busy = await bench.reads({ ...load, during: true })
      const ratio = busy.rps / quiet.rps
      console.error(
        `  no job ${Math.round(quiet.rps)} reads/s, during a job ${Math.round(busy.rps)} reads/s: ratio ${ratio.toFixed(2)} (target >= 0.7)`,
      )
      return busy
    },
  )
