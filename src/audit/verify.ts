import { parseSortKey, type StoredBlock, toEvent } from './blocks.ts'
import { type ChainHead, eventSortKey, GENESIS, hashEvent } from './chain.ts'
import type { AuditEvent } from './events.ts'

export type ProblemKind = 'modified' | 'deleted' | 'inserted' | 'reordered'

export interface VerifyProblem {
  kind: ProblemKind
  chainId: string
  seq: number | null
  eventId: string | null
  detail: string
}

export interface VerifyReport {
  ok: boolean
  from: string
  to: string
  checked: number
  chains: Array<{
    chainId: string
    events: number
    firstSeq: number
    lastSeq: number
    /** Events written after the head was last updated (a flush in progress, or a crash). */
    unanchored: number
  }>
  problems: VerifyProblem[]
  firstProblem: VerifyProblem | null
}

interface Entry {
  id: string
  seq: number
  prev: string
  hash: string
  flagged: boolean
}

interface ChainState {
  firstSeq: number
  firstId: string
  seq: number
  events: number
  /** Events found at position `seq`: more than one means someone inserted one. */
  tips: Entry[]
  /** Events ahead of `seq`, held briefly so that two swapped events do not look deleted. */
  ahead: Map<number, Entry[]>
}

const MAX_PROBLEMS = 100
const WINDOW = 32

/**
 * Recomputes a tenant's chains over a time range, streaming: blocks arrive in table order
 * (their first events' time, chain, seq), each chain's events in chain order, and only a small
 * state per chain is kept. `headsBefore` must be read
 * before the events (so every event they cover was already written: a head ahead of the
 * surviving events means the newest were deleted); `headsAfter` after them (so a chain opened
 * meanwhile is not taken for a forged one).
 */
export function createVerifier({
  tenantId,
  from,
  to,
}: {
  tenantId: string
  from: string
  to: string
}) {
  const chains = new Map<string, ChainState>()
  const problems: VerifyProblem[] = []
  let checked = 0

  const report = (
    kind: ProblemKind,
    chainId: string,
    seq: number | null,
    eventId: string | null,
    detail: string,
  ) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ kind, chainId, seq, eventId, detail })
  }

  /** Keeps the tip the next event links to; any other event at that position was inserted. */
  function settleTips(chainId: string, state: ChainState, hash: string | undefined): boolean {
    const genuine = state.tips.find((tip) => tip.hash === hash)
    const kept = genuine ?? state.tips[0]
    for (const tip of state.tips) {
      if (tip === kept) continue
      report('inserted', chainId, tip.seq, tip.id, `another event also claims position ${tip.seq}`)
    }
    return genuine !== undefined || state.tips.every((tip) => tip.flagged)
  }

  /** Moves the chain to `entries`' position, then to any held events that now follow. */
  function advance(chainId: string, state: ChainState, entries: Entry[], afterGap: boolean) {
    const [entry] = entries as [Entry, ...Entry[]]
    if (afterGap) settleTips(chainId, state, undefined)
    else if (!settleTips(chainId, state, entry.prev) && !entry.flagged) {
      const detail = 'it does not link to the event before it (forged or rewritten)'
      report('inserted', chainId, entry.seq, entry.id, detail)
    }
    state.seq = entry.seq
    state.tips = entries
    const next = state.ahead.get(state.seq + 1)
    if (next) {
      state.ahead.delete(state.seq + 1)
      advance(chainId, state, next, false)
    }
  }

  /** Gives up waiting for the missing events: reports them deleted and moves past the gap. */
  function skipGap(chainId: string, state: ChainState): void {
    const seq = Math.min(...state.ahead.keys())
    const entries = state.ahead.get(seq) as Entry[]
    state.ahead.delete(seq)
    const detail = `events ${state.seq + 1} to ${seq - 1} of its chain are missing`
    report('deleted', chainId, state.seq + 1, null, detail)
    advance(chainId, state, entries, true)
  }

  /**
   * `sortKey`: the key of the block the event opens, which must not come after the event's.
   * `previousKey`: the event stored before it in the same block, which must come before it.
   */
  function add(event: AuditEvent, sortKey?: string, previousKey?: string): void {
    checked++
    const { hash, ...body } = event
    if (typeof event.chain?.id !== 'string' || !Number.isInteger(event.chain.seq)) {
      report('modified', event.chain?.id ?? '(unknown)', null, event.id, 'it is malformed')
      return
    }
    const { id: chainId, seq, prev } = event.chain
    const flag = (kind: ProblemKind, detail: string) => {
      report(kind, chainId, seq, event.id, detail)
      entry.flagged = true
    }
    const entry: Entry = { id: event.id, seq, prev, hash, flagged: false }
    if (safeHash(body) !== hash) flag('modified', 'its content does not match its hash')
    if (event.tenantId !== tenantId) flag('inserted', 'it belongs to another tenant')
    // A block may sort before its first event (one deleted from its head: a gap, reported as
    // such), never after it: that would move the event's place in the time line.
    if (sortKey !== undefined && sortKey > eventSortKey(event)) {
      flag('reordered', 'it is stored in the place of a later event')
    } else if (previousKey !== undefined && eventSortKey(event) <= previousKey) {
      flag('reordered', 'it is stored after a later event')
    }
    const state = chains.get(chainId)
    if (!state) {
      chains.set(chainId, {
        firstSeq: seq,
        firstId: event.id,
        seq,
        events: 1,
        tips: [entry],
        ahead: new Map(),
      })
      if (seq === 1 && prev !== GENESIS) {
        report('inserted', chainId, seq, event.id, 'a chain’s first event must start at genesis')
      }
      return
    }
    state.events++
    if (seq === state.seq) state.tips.push(entry)
    else if (seq < state.seq) {
      report('reordered', chainId, seq, event.id, `it comes after position ${state.seq}`)
    } else if (seq === state.seq + 1) advance(chainId, state, [entry], false)
    else {
      state.ahead.set(seq, [...(state.ahead.get(seq) ?? []), entry])
      if (state.ahead.size > WINDOW) skipGap(chainId, state)
    }
  }

  /** The events of one block that fall in the range; an unreadable block is itself a finding. */
  function addBlock(block: StoredBlock): void {
    if (block.unreadable !== undefined) {
      const { chainId, seq } = parseSortKey(block.sortKey)
      const detail = `the block of events from position ${seq} cannot be read: ${block.unreadable}`
      report('modified', chainId, Number.isInteger(seq) ? seq : null, null, detail)
      return
    }
    let previousKey: string | undefined
    block.events.forEach((entry, index) => {
      const event = toEvent(entry)
      const key = safeKey(event)
      // A time that is not a string was tampered with: checked (and flagged), never skipped.
      const outside = typeof event.time === 'string' && (event.time < from || event.time > to)
      if (!outside) add(event, index === 0 ? block.sortKey : undefined, previousKey)
      previousKey = key
    })
  }

  function finish(headsBefore: ChainHead[], headsAfter: ChainHead[]): VerifyReport {
    const before = new Map(headsBefore.map((head) => [head.chainId, head]))
    const known = new Set([...before.keys(), ...headsAfter.map((head) => head.chainId)])
    const inRange = (time: string) => time >= from && time <= to
    const summaries: VerifyReport['chains'] = []
    for (const [chainId, state] of chains) {
      while (state.ahead.size > 0) skipGap(chainId, state)
      const head = before.get(chainId)
      settleTips(chainId, state, head?.seq === state.seq ? head.hash : undefined)
      if (!known.has(chainId)) {
        report(
          'inserted',
          chainId,
          state.firstSeq,
          state.firstId,
          'its chain has no head: forged, or the head was deleted',
        )
      }
      if (head && state.firstSeq > 1 && inRange(head.openedAt)) {
        report(
          'deleted',
          chainId,
          1,
          null,
          `events 1 to ${state.firstSeq - 1} of the chain are missing`,
        )
      }
      if (head && head.seq > state.seq && head.lastTime <= to) {
        report(
          'deleted',
          chainId,
          state.seq + 1,
          null,
          `events ${state.seq + 1} to ${head.seq} (the newest) are missing`,
        )
      }
      const last = state.tips[0]
      if (head && head.seq === state.seq && last && !last.flagged && last.hash !== head.hash) {
        report(
          'modified',
          chainId,
          state.seq,
          last.id,
          'the last event does not match the chain head',
        )
      }
      summaries.push({
        chainId,
        events: state.events,
        firstSeq: state.firstSeq,
        lastSeq: state.seq,
        unanchored: head ? Math.max(0, state.seq - head.seq) : state.seq,
      })
    }
    for (const head of headsBefore) {
      if (chains.has(head.chainId) || head.seq === 0) continue
      if (inRange(head.lastTime) || inRange(head.openedAt)) {
        report(
          'deleted',
          head.chainId,
          null,
          null,
          'every event of the chain in this range is missing',
        )
      }
    }
    return {
      ok: problems.length === 0,
      from,
      to,
      checked,
      chains: summaries,
      problems,
      firstProblem: problems[0] ?? null,
    }
  }

  return { add, addBlock, finish }
}

function safeKey(event: AuditEvent): string | undefined {
  try {
    return eventSortKey(event)
  } catch {
    return undefined
  }
}

/** A tampered item may lack whole fields; it then simply does not match its hash. */
function safeHash(body: Omit<AuditEvent, 'hash'>): string | undefined {
  try {
    return hashEvent(body)
  } catch {
    return undefined
  }
}
