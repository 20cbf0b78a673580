import autocannon from 'autocannon'
import type { LoadOptions } from './closed-loop.ts'
import { elapsedSecondsSince, LatencyRecorder } from './latency.ts'
import { observeWindow } from './probes.ts'
import type { Measurement } from './scenario.ts'

export interface HttpRequest {
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
}

/**
 * Drives an HTTP server with autocannon, one request in flight per connection (so
 * `concurrency` = connections). The server must live in another process: sharing an event loop
 * with the load generator would measure both at once.
 */
export async function runHttpLoad(
  request: HttpRequest,
  options: LoadOptions,
): Promise<Measurement> {
  await fire(request, options.concurrency, options.warmupSeconds, new LatencyRecorder())
  return observeWindow(options.probes ?? [], async () => {
    const recorder = new LatencyRecorder()
    const elapsed = await fire(request, options.concurrency, options.seconds, recorder)
    return recorder.summarize(elapsed)
  })
}

/**
 * Load whose figures are thrown away: warms a fresh server's JIT (and the JVM's) before any
 * measurement.
 */
export async function warmUp(
  request: HttpRequest,
  { concurrency, seconds }: { concurrency: number; seconds: number },
): Promise<void> {
  await fire(request, concurrency, seconds, new LatencyRecorder())
}

function fire(
  request: HttpRequest,
  connections: number,
  seconds: number,
  recorder: LatencyRecorder,
): Promise<number> {
  const start = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { ...request, connections, pipelining: 1, duration: seconds, timeout: 10 },
      (error, result) => {
        if (error) return reject(error)
        // `errors` counts socket errors and timeouts; non-2xx answers are counted below.
        recorder.errors += result.errors
        resolve(elapsedSecondsSince(start))
      },
    )
    // autocannon's own histogram keeps whole milliseconds; its event carries the exact time.
    instance.on('response', (_client, statusCode, _bytes, milliseconds) => {
      if (statusCode >= 200 && statusCode < 300) recorder.record(milliseconds)
      else recorder.errors++
    })
  })
}
