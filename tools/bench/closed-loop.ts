import { elapsedSecondsSince, LatencyRecorder } from './latency.ts'
import { observeWindow } from './probes.ts'
import type { Measurement, WindowProbe } from './scenario.ts'

export interface LoadOptions {
  concurrency: number
  seconds: number
  warmupSeconds: number
  /** Observe the measured window (not the warm-up). */
  probes?: WindowProbe[]
}

/**
 * A closed loop: `concurrency` async workers, each starting its next call as soon as the
 * previous one settles, in this process. Suited to measuring a client library against a
 * server in another process (DynamoDB Local is a JVM).
 */
export async function runClosedLoop(
  operation: () => Promise<unknown>,
  { concurrency, seconds, warmupSeconds, probes = [] }: LoadOptions,
): Promise<Measurement> {
  await loop(operation, concurrency, warmupSeconds, new LatencyRecorder())
  return observeWindow(probes, async () => {
    const recorder = new LatencyRecorder()
    const elapsed = await loop(operation, concurrency, seconds, recorder)
    return recorder.summarize(elapsed)
  })
}

async function loop(
  operation: () => Promise<unknown>,
  concurrency: number,
  seconds: number,
  recorder: LatencyRecorder,
): Promise<number> {
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(seconds * 1e9))
  const worker = async () => {
    for (;;) {
      const sent = process.hrtime.bigint()
      if (sent >= end) return
      try {
        await operation()
        recorder.record(Number(process.hrtime.bigint() - sent) / 1e6)
      } catch {
        recorder.errors++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return elapsedSecondsSince(start)
}
