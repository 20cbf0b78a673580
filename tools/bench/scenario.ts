/**
 * A benchmark scenario: something measured at several concurrency levels, set up once.
 * Adding one = a file in scenarios/ plus a line in scenarios/index.ts.
 */

/** Figures of one measurement. Latencies in milliseconds, of successful requests only. */
export interface Measurement {
  rps: number
  p50: number
  p99: number
  requests: number
  errors: number
}

export interface BenchContext {
  /** Length of each measurement and of the warm-up before it, in seconds. */
  seconds: number
  warmupSeconds: number
  /** Environment for child processes (a server under test inherits it). */
  env: NodeJS.ProcessEnv
  /** The run's one DynamoDB Local, started on first use and shared by every scenario. */
  dynamodbEndpoint(): Promise<string>
}

/**
 * `ceiling`: the fastest the HTTP stack can answer (nothing real can beat it).
 * `floor`: the storage round trip every real read pays at least once.
 */
export type Baseline = 'ceiling' | 'floor'

export interface Scenario {
  name: string
  description: string
  baseline?: Baseline
  setup(context: BenchContext): Promise<void>
  /** Warm up, then measure with `concurrency` requests in flight at all times. */
  run(concurrency: number): Promise<Measurement>
  teardown(): Promise<void>
}
