import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { type AuditStore, AuditWriteError } from '../storage/audit-store.ts'
import { type EncodedBlock, toBlocks } from './blocks.ts'
import { type ChainHead, type Chains, createChains } from './chain.ts'
import {
  type AuditEvent,
  type AuditInput,
  cleanDetails,
  normalise,
  type UnsealedEvent,
} from './events.ts'

export interface AuditRecorderOptions {
  mode: Config['audit']['mode']
  store: Pick<AuditStore, 'putBlocks' | 'putHeads' | 'putBlock'>
  clock: Clock
  logger: Logger
  chains?: Chains
  /** Buffered mode: the longest an event waits before its flush starts. */
  flushIntervalMs?: number
  /** Buffered mode: beyond this many waiting events, new ones are dropped (and logged). */
  maxBuffered?: number
  /** Told how long each write took and of dropped events (the metrics). */
  observe?: AuditObserver
}

export interface AuditObserver {
  flushed(seconds: number): void
  dropped(count: number): void
}

/** What a strict-mode request gets when its event cannot be written: it must fail closed. */
export const auditUnavailable = (cause?: unknown): AppError =>
  new AppError(
    'audit_unavailable',
    'The audit log could not be written, so the request was not carried out.',
    cause === undefined ? {} : { cause },
  )

/** Strict mode: events committed in one group (a block per chain, written in parallel). */
const STRICT_GROUP = 500
/**
 * The one way to record an audit event: `await audit.record({...})`.
 *
 * - `buffered`: resolves at once; events wait in memory (in chain order) and are written as
 *   blocks (blocks.ts) at most `flushIntervalMs` later, or by `flush()`/`close()` on shutdown.
 *   A crash loses what is buffered (up to 200 ms of events) plus the flush in flight; if
 *   DynamoDB is down, up to `maxBuffered` events wait (and are lost on a crash) before new ones
 *   are dropped.
 * - `strict`: resolves once the block holding the event is durably written; rejects with
 *   AppError `audit_unavailable` otherwise, and the caller must then fail closed (reveal
 *   nothing). Events arriving while a write is in flight are committed together in the next
 *   block (group commit), which serialises appends to each chain. The chain head that anchors
 *   them follows within `flushIntervalMs`: until then verify counts them as unanchored, and a
 *   crash in between leaves them so (the events themselves are stored).
 * - `off`: records nothing.
 *
 * An event without a tenant (unknown e-mail, unverifiable token) has no partition to go to:
 * it is written to the log instead, in every mode but `off`.
 */
export function createAuditRecorder({
  mode,
  store,
  clock,
  logger,
  chains = createChains(),
  flushIntervalMs = 200,
  maxBuffered = 10_000,
  observe,
}: AuditRecorderOptions) {
  const log = logger.child({ component: 'audit' })
  let lastMs = 0
  let closed = false
  let dropped = 0

  // buffered mode
  const waiting: UnsealedEvent[] = []
  let unwritten: EncodedBlock[] = [] // sealed but left unwritten by a failed flush: retried first
  let unwrittenEvents = 0
  const openings = new Map<string, ChainHead>()
  const heads = new Map<string, ChainHead>()
  let timer: NodeJS.Timeout | undefined
  let failures = 0
  let tail: Promise<void> = Promise.resolve()

  // strict mode
  const queue: Array<{ event: UnsealedEvent; done: (error?: AppError) => void }> = []
  let draining: Promise<void> | undefined
  let kicked = false

  function record(input: AuditInput): Promise<void> {
    if (mode === 'off') return Promise.resolve()
    const { details, dropped: names } = cleanDetails(input.details)
    if (names.length > 0) log.warn({ action: input.action, names }, 'audit details dropped')
    if (input.tenantId === null) {
      const { action, actor, outcome, requestId, traceId, client } = input
      log.info(
        { audit: { action, actor, outcome, requestId, traceId, client } },
        'audit event (no tenant)',
      )
      return Promise.resolve()
    }
    // A chain's table order must be its seq order, so its times never go backwards.
    lastMs = Math.max(clock.now(), lastMs)
    const event = normalise(input as AuditInput & { tenantId: string }, {
      id: newId('evt', lastMs),
      time: new Date(lastMs).toISOString(),
      details,
    })
    if (mode === 'strict') {
      return new Promise((resolve, reject) => {
        queue.push({ event, done: (error) => (error ? reject(error) : resolve()) })
        kick()
      })
    }
    if (waiting.length + unwrittenEvents >= maxBuffered) {
      observe?.dropped(1)
      if (dropped++ % 1000 === 0) log.error({ dropped, action: input.action }, 'audit buffer full')
      return Promise.resolve()
    }
    waiting.push(event)
    schedule(closed ? 0 : flushIntervalMs)
    return Promise.resolve()
  }

  function schedule(delayMs: number): void {
    if (timer) return
    timer = setTimeout(() => {
      timer = undefined
      writeQueued().catch((error: unknown) => {
        log.error({ error: (error as Error).message }, 'audit flush failed; will retry')
        schedule(Math.min(5000, flushIntervalMs * 2 ** ++failures))
      })
    }, delayMs)
    timer.unref()
  }

  function keepUnwritten(blocks: EncodedBlock[]): void {
    unwritten = blocks
    unwrittenEvents = blocks.reduce((sum, block) => sum + block.events.length, 0)
  }

  /** Buffered events as blocks, and the heads that anchor everything written (both modes). */
  async function writeAll(): Promise<void> {
    // This flush writes what was waiting when it began. Events recorded while it writes wait
    // for the next one: looping until the buffer is empty would, under steady traffic, turn
    // the 200 ms batches into a stream of small writes back to back.
    let owned = waiting.length
    while (owned > 0 || unwritten.length > 0 || heads.size > 0) {
      const sealed: AuditEvent[] = []
      const taken = waiting.splice(0, Math.min(owned, 5000))
      owned -= taken.length
      for (const event of taken) {
        const { event: stored, opening, head } = chains.seal(event)
        if (opening) openings.set(head.chainId, opening)
        heads.set(head.chainId, head)
        sealed.push(stored)
      }
      const blocks = [...unwritten, ...toBlocks(sealed)]
      keepUnwritten([])
      // A chain's head exists before its first event: a chain without one is forged.
      if (openings.size > 0) {
        try {
          await store.putHeads([...openings.values()])
        } catch (error) {
          keepUnwritten(blocks)
          throw error
        }
        openings.clear()
      }
      try {
        await store.putBlocks(blocks)
      } catch (error) {
        keepUnwritten(
          error instanceof AuditWriteError ? (error.remaining as EncodedBlock[]) : blocks,
        )
        throw error
      }
      const written = [...heads.values()]
      heads.clear()
      try {
        await store.putHeads(written)
      } catch (error) {
        for (const head of written) if (!heads.has(head.chainId)) heads.set(head.chainId, head)
        throw error
      }
    }
    failures = 0
  }

  /**
   * Starts the next group once the current turn's events are queued (a message from the
   * request thread brings a turn's worth): grouping them at the first event would write that
   * one alone and make the rest wait for it. One group at a time: on two shared cores a second
   * one in flight (on a chain of its own) halved the groups and cost DynamoDB more than it
   * saved in waiting (strict reads 0.7x as many in paired benches).
   */
  function kick(): void {
    if (kicked || draining) return
    kicked = true
    queueMicrotask(() => {
      kicked = false
      if (draining || queue.length === 0) return
      draining = drain().finally(() => {
        draining = undefined
        // An event queued after the loop ended but before this ran would otherwise wait forever.
        if (queue.length > 0) kick()
      })
    })
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, STRICT_GROUP)
      const sealed = group.map(({ event }) => chains.seal(event))
      try {
        const opened = sealed.flatMap(({ opening }) => (opening ? [opening] : []))
        if (opened.length > 0) await store.putHeads(opened)
        const blocks = toBlocks(sealed.map(({ event }) => event))
        const started = performance.now()
        await Promise.all(blocks.map((block) => store.putBlock(block)))
        observe?.flushed((performance.now() - started) / 1000)
        for (const { head } of sealed) heads.set(head.chainId, head)
        schedule(closed ? 0 : flushIntervalMs)
        for (const { done } of group) done()
      } catch (error) {
        // The write may or may not have landed: each chain it touched ends here either way.
        for (const { event } of group) chains.rotate(event.tenantId)
        log.error({ error: (error as Error)?.name, events: group.length }, 'audit write failed')
        const refusal = auditUnavailable(error)
        for (const { done } of group) done(refusal)
      }
    }
  }

  /** Writes everything recorded so far; rejects if some of it could not be written. */
  async function flush(): Promise<void> {
    for (;;) {
      if (draining) await draining
      else if (kicked) await Promise.resolve()
      else break
    }
    await writeQueued()
  }

  async function timedWriteAll(): Promise<void> {
    const started = performance.now()
    try {
      await writeAll()
    } finally {
      observe?.flushed((performance.now() - started) / 1000)
    }
  }

  /** One writeAll at a time. The timer does not wait for strict groups: heads may follow. */
  function writeQueued(): Promise<void> {
    const run = tail.then(observe ? timedWriteAll : writeAll)
    tail = run.catch(() => {})
    return run
  }

  return {
    mode,
    record,
    flush,
    /** Stops the timer and flushes; later events are flushed at once (shutdown stragglers). */
    async close(): Promise<void> {
      closed = true
      clearTimeout(timer)
      timer = undefined
      await flush()
    },
    /** Events recorded but not yet written (buffered mode). */
    get pending(): number {
      return waiting.length + unwrittenEvents + queue.length
    },
  }
}

export type AuditRecorder = ReturnType<typeof createAuditRecorder>
