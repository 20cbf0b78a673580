import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Config } from '../config.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { isSource, moduleUrl } from '../module-url.ts'
import type { AuditInput } from './events.ts'
import {
  type Posted,
  pack,
  type ThreadReply,
  type ThreadRequest,
  TICKET,
} from './thread-messages.ts'
import { type AuditObserver, type AuditRecorder, auditUnavailable } from './writer.ts'

export interface OffThreadOptions {
  config: Readonly<Config>
  clock: Clock
  logger: Logger
  /** Buffered mode: how long events gather before they are handed to the thread. */
  handOffMs?: number
  /** Told of the thread's writes and dropped events (the metrics). */
  observe?: AuditObserver
}

// From source, the thread loads our TypeScript through tsx's API, with the package's own
// tsconfig as bin/keystash.js does: tsx's `--import` hook does not reach worker threads
// (github.com/privatenumber/tsx/issues/354). Compiled, it imports the built file.
const THREAD_ENTRY = JSON.stringify(moduleUrl('./audit-thread', import.meta.url).href)
const THREAD = isSource(import.meta.url)
  ? `import('tsx/esm/api').then(({ register }) => {
  register({ tsconfig: ${JSON.stringify(fileURLToPath(new URL('../../tsconfig.json', import.meta.url)))} })
  return import(${THREAD_ENTRY})
})`
  : `import(${THREAD_ENTRY})`

const RESTART_AFTER_MS = 1000
const MAX_HELD = 10_000

/**
 * The audit recorder of writer.ts, run on a worker thread of its own. The request thread only
 * stamps each event with its time and hands it over; sealing the chains, compressing blocks
 * and the DynamoDB writes happen on the other thread, so they no longer take time from
 * requests (the way pino runs its transports).
 *
 * The modes keep their meaning. `buffered`: events are handed over every `handOffMs` (5 ms),
 * which adds that much to what a crash can lose. `strict`: `record` resolves once the thread
 * has written the event and rejects with `audit_unavailable` if it could not, or if the thread
 * is gone; the next event starts a new thread (and so a new chain), at most one a second.
 */
export function createOffThreadAuditRecorder({
  config,
  clock,
  logger,
  handOffMs = 5,
  observe,
}: OffThreadOptions): Pick<AuditRecorder, 'mode' | 'record' | 'flush' | 'close' | 'pending'> {
  const mode = config.audit.mode
  const log = logger.child({ component: 'audit' })
  let thread: Worker | undefined
  let outbox: Posted[] = []
  let timer: NodeJS.Timeout | undefined
  let scheduled = false
  let next = 1
  // When the thread last started or stopped: the next one starts RESTART_AFTER_MS later at the
  // earliest (measured from the stop too, so a thread that is slow to fail, on a busy machine,
  // is still not restarted for every event).
  let changedAt = Number.NEGATIVE_INFINITY
  // Events the thread holds unwritten, as it last reported.
  let threadPending = 0
  // Strict tickets and flush/close references, by number.
  const waiters = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()

  function start(): Worker {
    const started = new Worker(THREAD, { eval: true, workerData: { config }, execArgv: [] })
    started.on('message', (reply: ThreadReply) => {
      if (reply.type === 'settled') {
        for (const ticket of reply.done) settle(ticket)
        for (const [ticket, code] of reply.failed) settle(ticket, auditUnavailable(code))
      } else if (reply.type === 'observed') {
        threadPending = reply.pending
        if (reply.flushedSeconds !== undefined) observe?.flushed(reply.flushedSeconds)
        if (reply.dropped) observe?.dropped(reply.dropped)
      } else {
        settle(reply.ref, reply.error === undefined ? undefined : new Error(reply.error))
      }
    })
    // An uncaught error ends the thread: it is gone from then on, not only once it has exited,
    // so nothing more is handed to it in between.
    const gone = () => {
      if (thread !== started) return
      thread = undefined
      changedAt = performance.now()
      // Whatever it had not confirmed is not known to be written.
      for (const ticket of [...waiters.keys()]) settle(ticket, auditUnavailable())
    }
    started.on('error', (error) => {
      gone()
      log.error({ error: error.message }, 'audit thread failed')
    })
    started.on('exit', gone)
    return started
  }

  function settle(ticket: number, error?: Error): void {
    const waiter = waiters.get(ticket)
    if (!waiter) return
    waiters.delete(ticket)
    if (error) waiter.reject(error)
    else waiter.resolve()
  }

  function send(message: ThreadRequest): void {
    if (!thread) {
      thread = start()
      changedAt = performance.now()
    }
    thread.postMessage(message)
  }

  function handOver(): void {
    clearTimeout(timer)
    scheduled = false
    if (outbox.length === 0) return
    const wait = thread ? 0 : changedAt + RESTART_AFTER_MS - performance.now()
    if (wait > 0) {
      holdBack(wait)
      return
    }
    const events = outbox
    outbox = []
    try {
      send({ type: 'events', events })
    } catch (error) {
      // An input that cannot be copied to the thread (a bug in its caller) costs only itself.
      if (events.length > 1) for (const event of events) sendOne(event)
      else refuse(events[0] as Posted, error)
    }
  }

  /**
   * The thread stopped less than RESTART_AFTER_MS ago (a thread that cannot start would
   * otherwise be restarted for every event): strict events fail closed at once, buffered ones
   * wait for the restart, as many as the recorder itself would buffer.
   */
  function holdBack(wait: number): void {
    const kept: Posted[] = []
    for (const event of outbox) {
      const ticket = event[TICKET]
      if (ticket === undefined) kept.push(event)
      else settle(ticket, auditUnavailable())
    }
    const excess = kept.length - MAX_HELD
    if (excess > 0) {
      kept.splice(0, excess)
      log.error({ dropped: excess }, 'audit events dropped: the audit thread is restarting')
    }
    outbox = kept
    if (outbox.length === 0) return
    scheduled = true
    timer = setTimeout(handOver, wait)
  }

  function sendOne(event: Posted): void {
    try {
      send({ type: 'events', events: [event] })
    } catch (error) {
      refuse(event, error)
    }
  }

  function refuse(event: Posted, error: unknown): void {
    const ticket = event[TICKET]
    log.error({ action: event[1], error: (error as Error).message }, 'audit event refused')
    if (ticket !== undefined) settle(ticket, auditUnavailable(error))
  }

  function ask(type: 'flush' | 'close'): Promise<void> {
    handOver()
    if (!thread) return Promise.resolve()
    const ref = next++
    return new Promise<void>((resolve, reject) => {
      waiters.set(ref, { resolve, reject })
      send({ type, ref })
    })
  }

  return {
    mode,
    record(input: AuditInput): Promise<void> {
      if (mode === 'off') return Promise.resolve()
      const at = clock.now()
      if (mode === 'buffered') {
        outbox.push(pack(input, at))
        if (!scheduled) {
          scheduled = true
          timer = setTimeout(handOver, handOffMs)
        }
        return Promise.resolve()
      }
      const ticket = next++
      return new Promise<void>((resolve, reject) => {
        waiters.set(ticket, { resolve, reject })
        outbox.push(pack(input, at, ticket))
        if (!scheduled) {
          scheduled = true
          setImmediate(handOver)
        }
      })
    },
    flush: () => ask('flush'),
    async close(): Promise<void> {
      await ask('close')
      // Events still held back for a restart have no thread to go to any more.
      clearTimeout(timer)
      scheduled = false
      if (outbox.length > 0) {
        log.error({ dropped: outbox.length }, 'audit events dropped: no audit thread at close')
        outbox = []
      }
      const closing = thread
      thread = undefined
      await closing?.terminate()
    },
    /** Events not yet handed to the thread, and those it reported unwritten. */
    get pending(): number {
      return outbox.length + threadPending
    },
  }
}
