import type { OutageLog } from './outage-log.ts'

type Handler<Args, Output> = (args: Args) => Promise<Output>

/** The part of an AWS SDK v3 client that this needs. */
export interface WatchedClient<Args, Output> {
  middlewareStack: {
    add(
      middleware: (next: Handler<Args, Output>) => Handler<Args, Output>,
      options: { step: 'initialize'; name: string; override: boolean },
    ): void
  }
}

export interface WatchOptions {
  log: OutageLog
  /** The error a caller should see when `error` means the service is unavailable; else undefined. */
  outage(error: unknown): unknown
}

/**
 * Watches every call of an AWS SDK client, around its retries: an outage is reported to `log`
 * and rethrown as what `outage` makes of it; any answer from the service, a refusal included,
 * tells `log` the service is serving.
 */
export function watchOutages<Args, Output>(
  client: WatchedClient<Args, Output>,
  { log, outage }: WatchOptions,
): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const output = await next(args)
        log.served()
        return output
      } catch (error) {
        const unavailable = outage(error)
        if (unavailable === undefined) {
          log.served()
          throw error
        }
        log.failed()
        throw unavailable
      }
    },
    // One watcher per client, whichever composition root attached it last.
    { step: 'initialize', name: 'keystashOutageWatch', override: true },
  )
}
