import type { Logger } from '../logger.ts'

/**
 * Runs `pass` in the background: every `pollMs` once started, and soon after `kick()`. Passes
 * never overlap; a kick during a pass runs one more pass after it. A failed pass is logged and
 * the next one tries again, so a DynamoDB hiccup never stops the loop.
 */
export function createPoller({
  name,
  pass,
  pollMs,
  logger,
}: {
  name: string
  pass: () => Promise<unknown>
  pollMs: number
  logger: Logger
}) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let again = false
  let stopped = true

  function runPass(): Promise<void> {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        try {
          await pass()
        } catch (error) {
          logger.error({ job: name, error: (error as Error).message }, 'background pass failed')
        }
      } while (again && !stopped)
    })().finally(() => {
      running = undefined
    })
    return running
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      void runPass().finally(schedule)
    }, pollMs)
    timer.unref()
  }

  return {
    start(): void {
      if (!stopped) return
      stopped = false
      void runPass().finally(schedule)
    },
    /** Asks for a pass soon; returns at once (callers never wait for it). */
    kick(): void {
      if (stopped) return
      setImmediate(() => void runPass())
    },
    /** Runs one pass now and waits for it (tests, and the CLI). */
    runNow: runPass,
    async stop(): Promise<void> {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}

export type Poller = ReturnType<typeof createPoller>
