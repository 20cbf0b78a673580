import { type HttpRequest, runHttpLoad, warmUp } from './http-load.ts'
import { type KeystashServer, type Seed, startKeystash } from './keystash-server.ts'
import { kmsDecryptProbe } from './probes.ts'
import type { BenchContext, Scenario, Target } from './scenario.ts'

export interface KeystashScenarioOptions {
  name: string
  description: string
  /** Server settings on top of the shared production-mode ones (which turn audit off). */
  env?: Record<string, string>
  request(server: KeystashServer): HttpRequest
  /**
   * Looks at one answer before any load and throws if it shows the scenario would measure
   * something else (a mock value, an error page).
   */
  check?(response: Response, seed: Seed): Promise<void>
  /** Adds the local KMS's Decrypt calls per 1,000 requests to every measurement. */
  countKmsDecrypts?: boolean
  targets?: Target[]
}

/**
 * A scenario against the real Keystash server, in a process of its own started with this
 * scenario's settings (and stopped after it), on the run's shared DynamoDB Local, table, local
 * KMS and seeded data. Driven over HTTP by autocannon.
 */
export function keystashScenario(options: KeystashScenarioOptions): Scenario {
  const { name } = options
  let context: BenchContext | undefined
  let server: KeystashServer | undefined
  let request: HttpRequest | undefined
  return {
    name,
    description: options.description,
    ...(options.targets ? { targets: options.targets } : {}),
    async setup(benchContext) {
      context = benchContext
      server = await startKeystash(benchContext, options.env)
      try {
        request = options.request(server)
        const { url, ...init } = request
        const response = await fetch(url, init)
        if (!response.ok) {
          const method = request.method ?? 'GET'
          throw new Error(`${name}: ${method} ${url} answered ${response.status} before any load`)
        }
        await options.check?.(response, server.seed)
        // A server started a moment ago runs its hot path unoptimised, and DynamoDB Local has
        // not yet compiled the calls this scenario makes: the first level measured (often
        // 1 concurrent, a few hundred requests) would pay for both.
        const seconds = Math.max(5, benchContext.warmupSeconds)
        await warmUp(request, { concurrency: 32, seconds })
      } catch (error) {
        await server.stop()
        throw error
      }
    },
    run(concurrency) {
      if (!context || !server || !request) throw new Error(`${name}: run() before setup()`)
      const { seconds, warmupSeconds } = context
      const probes = [context.cpuProbe({ server: server.pid })]
      if (options.countKmsDecrypts) probes.push(kmsDecryptProbe(server.kmsUrl))
      return runHttpLoad(request, { concurrency, seconds, warmupSeconds, probes })
    },
    async teardown() {
      await server?.stop()
    },
  }
}

/** `A=1 B=2`, or "default configuration, audit trail off". */
export function describeSettings(env: Record<string, string> = {}): string {
  const settings = Object.entries(env).map(([name, value]) => `${name}=${value}`)
  // Every bench server runs with the audit trail off unless its settings turn it on.
  return settings.length > 0 ? settings.join(' ') : 'default configuration, audit trail off'
}
