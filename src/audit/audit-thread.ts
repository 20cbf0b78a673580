import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { createAwsClients } from '../aws.ts'
import type { Config } from '../config.ts'
import { isAppError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { createAuditStore } from '../storage/audit-store.ts'
import { type ThreadReply, type ThreadRequest, unpack } from './thread-messages.ts'
import { createAuditRecorder } from './writer.ts'

/**
 * The audit writer's thread (see off-thread.ts): the recorder of writer.ts, unchanged, fed by
 * messages. Each event keeps the time the request thread gave it.
 */
const config = workerData.config as Config
const port = parentPort
if (!port) throw new Error('audit-thread.ts runs as a worker thread')

// In strict mode requests wait for this thread: it must not be the one that waits.
if (config.audit.mode === 'buffered') lowerOwnPriority()

let now = Date.now()
const aws = createAwsClients(config)
const recorder = createAuditRecorder({
  mode: config.audit.mode,
  store: createAuditStore({
    doc: aws.doc,
    table: config.aws.table,
    retentionDays: config.audit.retentionDays,
  }),
  clock: { now: () => now },
  logger: createLogger({ level: config.logLevel }),
  // The request thread's metrics count what happens here, told once per write (a few a
  // second), dropped events included (a full buffer drops thousands a second).
  observe: {
    flushed: (flushedSeconds) => {
      reply({ type: 'observed', flushedSeconds, dropped, pending: recorder.pending })
      dropped = 0
    },
    dropped: (count) => {
      dropped += count
    },
  },
})
let dropped = 0

// Strict outcomes go back in batches, one message per event-loop turn.
let done: number[] = []
let failed: Array<[number, string]> = []
let replying = false
const reply = (message: ThreadReply) => port.postMessage(message)
const settleSoon = () => {
  if (replying) return
  replying = true
  setImmediate(settle)
}
const settle = () => {
  replying = false
  if (done.length > 0 || failed.length > 0) reply({ type: 'settled', done, failed })
  done = []
  failed = []
}

port.on('message', (message: ThreadRequest) => {
  switch (message.type) {
    case 'events':
      for (const posted of message.events) {
        const { input, at, ticket } = unpack(posted)
        now = at
        const written = recorder.record(input)
        if (ticket === undefined) continue
        written.then(
          () => {
            done.push(ticket)
            settleSoon()
          },
          (error: unknown) => {
            failed.push([ticket, isAppError(error) ? error.code : 'internal'])
            settleSoon()
          },
        )
      }
      return
    case 'flush':
    case 'close': {
      const finished = message.type === 'flush' ? recorder.flush() : recorder.close()
      finished.then(
        () => reply({ type: 'finished', ref: message.ref }),
        (error: unknown) =>
          reply({ type: 'finished', ref: message.ref, error: (error as Error).message }),
      )
      return
    }
  }
})

/**
 * Requests come first: on Linux a thread has its own nice value, so in buffered mode this
 * thread yields the CPU to the request thread whenever both want it. Elsewhere it runs at
 * normal priority.
 */
function lowerOwnPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10)
  } catch {
    // Not Linux, or no /proc: the thread keeps the process's priority.
  }
}
