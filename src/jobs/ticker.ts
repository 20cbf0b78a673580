import type { Logger } from '../logger.ts'

/**
 * Calls `tick` every `intervalMs` on this instance, never two at once (a slow tick makes the
 * next one wait for the following interval). What `tick` does must be safe on any number of
 * instances at once; the timer does not hold the process open.
 */
export function createTicker({
  name,
  intervalMs,
  tick,
  logger,
}: {
  name: string
  intervalMs: number
  tick: () => Promise<unknown>
  logger: Logger
}) {
  if (!(intervalMs > 0)) throw new RangeError(`${name}: the interval must be positive`)
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  const run = () => {
    if (running) return
    running = tick()
      .then(() => undefined)
      .catch((error: unknown) => logger.warn({ error: (error as Error).message }, `${name} failed`))
      .finally(() => {
        running = undefined
      })
  }

  return {
    start(): void {
      if (timer) return
      timer = setInterval(run, intervalMs)
      timer.unref()
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
