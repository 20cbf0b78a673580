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
  /**
   * Share of one core each process used during the measured window (0.9 = 90 %), by role:
   * `bench` (this process: load generator or client), `server`, `dynamodb` (the JVM), `kms`,
   * `other` (the rest of the machine).
   * On 2 cores the sum cannot pass 2: it tells which process bounds the figure.
   */
  cpu?: Record<string, number>
  /** KMS Decrypt calls per 1,000 successful requests during the measured window. */
  kmsDecryptsPer1k?: number
}

/**
 * Observes the measured window only (not the warm-up) and adds its figures to the
 * measurement: CPU time of the processes involved, calls counted by a local service.
 */
export interface WindowProbe {
  start(): Promise<void>
  finish(measurement: Measurement): Promise<Measurement>
}

export interface BenchContext {
  /** Length of each measurement and of the warm-up before it, in seconds. */
  seconds: number
  warmupSeconds: number
  /** Environment for child processes (a server under test inherits it). */
  env: NodeJS.ProcessEnv
  /** The run's one DynamoDB Local, started on first use and shared by every scenario. */
  dynamodbEndpoint(): Promise<string>
  /** The run's one local KMS (tools/kms-local in its own process), started on first use. */
  kms(): Promise<{ url: string; pid: number }>
  /**
   * CPU shares of this process, the shared services started so far and `processes` (the
   * scenario's own, e.g. `{ server: pid }`) during the measured window.
   */
  cpuProbe(processes?: Record<string, number>): WindowProbe
}

/**
 * `ceiling`: the fastest the HTTP stack can answer (nothing real can beat it).
 * `floor`: the storage round trip every real read pays at least once.
 */
export type Baseline = 'ceiling' | 'floor'

/**
 * A goal the scenario is held to, checked against the baselines of the same run at one
 * concurrency level: req/s at least `atLeast` x the baseline's, or p99 at most `atMost` x.
 */
/** `of` is a baseline, or the name of another scenario measured earlier in the same run. */
export type Target = { of: Baseline | (string & {}); concurrency?: number } & (
  | { metric: 'rps'; atLeast: number }
  | { metric: 'p99'; atMost: number }
)

export interface Scenario {
  name: string
  description: string
  baseline?: Baseline
  /** Checked at 32 concurrent requests unless a target says otherwise. */
  targets?: Target[]
  /**
   * Measured in the first round only: for scenarios that take minutes and hold no target
   * against a baseline, which more rounds would only make slower.
   */
  once?: boolean
  setup(context: BenchContext): Promise<void>
  /** Warm up, then measure with `concurrency` requests in flight at all times. */
  run(concurrency: number): Promise<Measurement>
  teardown(): Promise<void>
}
