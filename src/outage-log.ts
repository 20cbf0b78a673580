import type { Clock } from './lib/clock.ts'
import type { Logger } from './logger.ts'

export interface OutageLog {
  /** A call failed because the dependency could not serve it. */
  failed(): void
  /** A call got an answer (even a refusal): the dependency is serving. */
  served(): void
}

/**
 * Says once that a dependency is down and once that it is back, with how many calls failed in
 * between, instead of a line (and a stack trace) per failed request: an outage under load
 * would otherwise bury the log in thousands of identical lines.
 */
export function createOutageLog({
  dependency,
  logger,
  clock,
}: {
  dependency: string
  logger: Pick<Logger, 'error' | 'info'>
  clock: Clock
}): OutageLog {
  let down: { since: number; failures: number } | undefined
  return {
    failed() {
      if (down) {
        down.failures++
        return
      }
      down = { since: clock.now(), failures: 1 }
      logger.error({ dependency }, `${dependency} unavailable: answering 503 until it is back`)
    },
    served() {
      if (!down) return
      const { since, failures } = down
      down = undefined
      logger.info(
        { dependency, failures, downForMs: clock.now() - since },
        `${dependency} available again`,
      )
    },
  }
}
