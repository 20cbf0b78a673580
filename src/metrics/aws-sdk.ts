import type { Counter, Histogram } from 'prom-client'

/** The part of an AWS SDK v3 client this needs: its middleware stack (typed per service). */
interface Instrumentable {
  middlewareStack: { add: (...args: never[]) => void }
}
type Handler = (args: unknown) => Promise<unknown>
type AddMiddleware = (
  middleware: (next: Handler, context: { commandName?: string }) => Handler,
  options: { step: 'initialize' | 'deserialize'; name: string; override?: boolean },
) => void

export interface AwsCallMetrics {
  requests: Counter<'operation' | 'outcome'>
  duration: Histogram<'operation'>
  /** Attempts refused for throughput, counted per attempt (the SDK retries them). */
  throttles?: Counter<'operation'>
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
])

const operationOf = (context: { commandName?: string }) =>
  (context.commandName ?? 'unknown').replace(/Command$/, '')

/**
 * Counts and times every call an AWS SDK client makes, as SDK middleware: one place sees
 * every command, whichever module sends it (the document client shares its client's stack).
 * The call is timed around the SDK's retries (what the request waited); throttled attempts
 * are counted inside them. Re-instrumenting a client replaces its middleware (`override`), so
 * a client shared by several app instances in one process reports to the last one.
 */
export function instrumentAwsClient(client: Instrumentable, metrics: AwsCallMetrics): void {
  const stack = client.middlewareStack
  const add = stack.add.bind(stack) as unknown as AddMiddleware
  add(
    (next, context) => async (args) => {
      const operation = operationOf(context)
      const started = performance.now()
      let outcome = 'ok'
      try {
        return await next(args)
      } catch (error) {
        outcome = errorName(error)
        throw error
      } finally {
        metrics.requests.inc({ operation, outcome })
        metrics.duration.observe({ operation }, (performance.now() - started) / 1000)
      }
    },
    { step: 'initialize', name: 'keystashCallMetrics', override: true },
  )
  const throttles = metrics.throttles
  if (!throttles) return
  add(
    (next, context) => async (args) => {
      try {
        return await next(args)
      } catch (error) {
        if (THROTTLING.has(errorName(error))) throttles.inc({ operation: operationOf(context) })
        throw error
      }
    },
    { step: 'deserialize', name: 'keystashThrottleMetrics', override: true },
  )
}

// Error names are the SDK's modelled exception names: a closed set, safe as a label.
function errorName(error: unknown): string {
  const name = (error as { name?: unknown })?.name
  return typeof name === 'string' && /^[A-Za-z]{1,64}$/.test(name) ? name : 'Error'
}
