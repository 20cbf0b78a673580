import { BLOCK_SPAN_MS, parseSortKey, type StoredBlock, toEvent } from './blocks.ts'
import { eventSortKey } from './chain.ts'
import type { AuditEvent } from './events.ts'

/**
 * One time line from many chains: blocks come in the order of their first events, but the
 * blocks of several chains (several instances) overlap in time. These merges emit events in
 * key order (time, chain, seq) as soon as no unread block can hold an earlier (or, newest
 * first, a later) one, so memory holds about one block span of events, not the whole range.
 */
export interface Placed {
  event: AuditEvent
  key: string
}

export interface Step {
  /** Events now in their final order, to hand out. */
  ready: Placed[]
  /** Every event beyond this key (in the direction of travel) has been handed out. */
  frontier: string
}

const placed = (block: StoredBlock): Placed[] =>
  block.events.map((entry) => {
    const event = toEvent(entry)
    return { event, key: keyOf(event, block.sortKey) }
  })

/** A tampered event may lack its time or chain: it then sorts at its block's place. */
function keyOf(event: AuditEvent, fallback: string): string {
  try {
    return eventSortKey(event)
  } catch {
    return fallback
  }
}

const ascending = (a: Placed, b: Placed) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
const descending = (a: Placed, b: Placed) => ascending(b, a)

/** Oldest first, from blocks read in ascending key order. */
export async function* oldestFirst(pages: AsyncIterable<StoredBlock[]>): AsyncGenerator<Step> {
  let pending: Placed[] = []
  for await (const blocks of pages) {
    for (const block of blocks) {
      // No later block holds an event before this block's first.
      pending.sort(ascending)
      const cut = pending.findIndex(({ key }) => key >= block.sortKey)
      const ready = cut === -1 ? pending : pending.slice(0, cut)
      pending = cut === -1 ? [] : pending.slice(cut)
      pending.push(...placed(block))
      yield { ready, frontier: block.sortKey }
    }
  }
  yield { ready: pending.sort(ascending), frontier: '' }
}

/** Newest first, from blocks read in descending key order. */
export async function* newestFirst(pages: AsyncIterable<StoredBlock[]>): AsyncGenerator<Step> {
  let pending: Placed[] = []
  for await (const blocks of pages) {
    for (const block of blocks) {
      // An unread block starts at or before this one, so it ends within a span after it.
      const frontier = spanAfter(block.sortKey)
      pending.push(...placed(block))
      pending.sort(descending)
      const cut = pending.findIndex(({ key }) => key <= frontier)
      const ready = cut === -1 ? pending : pending.slice(0, cut)
      pending = cut === -1 ? [] : pending.slice(cut)
      yield { ready, frontier }
    }
  }
  yield { ready: pending.sort(descending), frontier: '' }
}

function spanAfter(sortKey: string): string {
  const at = Date.parse(parseSortKey(sortKey).time)
  if (Number.isNaN(at)) return sortKey
  return `EVT#${new Date(at + BLOCK_SPAN_MS).toISOString()}#~`
}
