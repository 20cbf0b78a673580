import { promisify } from 'node:util'
import { gunzip, gzip, gzipSync } from 'node:zlib'
import { eventSortKey } from './chain.ts'
import type { AuditEvent } from './events.ts'

/**
 * Blocks: how events are stored. A block is a run of consecutive events of one chain, written
 * as one item: their JSON array, gzip-compressed, with the first event's sort key as its own.
 *
 * Why not an item per event: at thousands of reads a second, an item per event costs a write
 * unit per kilobyte per event and the marshalling of a dozen attributes each. A flush writes a
 * block per chain instead (a few items where there were hundreds), about eight times smaller
 * once compressed (value-read events: 770 bytes of JSON, 90 gzipped). Queries filter in memory
 * after decompressing; reads of the audit trail are rare and bounded by time, so that is the
 * right side to pay on.
 *
 * Bounds that readers rely on: a block spans at most BLOCK_SPAN_MS from its first event to its
 * last, so events in a time range are found in the blocks whose key lies in
 * [start - BLOCK_SPAN_MS, end]; and it holds at most MAX_BLOCK_JSON characters before
 * compression, under DynamoDB's 400 KB item limit even when nothing compresses.
 */
export const BLOCK_SPAN_MS = 1000
const MAX_BLOCK_EVENTS = 1000
const MAX_BLOCK_JSON = 300_000

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

/** Consecutive events of one chain (one tenant), in chain order. */
export interface AuditBlock {
  tenantId: string
  chainId: string
  events: AuditEvent[]
}

/** A block as written: its events serialised (and, in the item, compressed). */
export interface EncodedBlock extends AuditBlock {
  sortKey: string
  json: string
}

/**
 * Cuts sealed events (any tenants and chains, each chain in order) into blocks within the
 * bounds above. Serialises each event once; the result is what the store compresses.
 */
export function toBlocks(events: AuditEvent[]): EncodedBlock[] {
  const done: EncodedBlock[] = []
  const open = new Map<string, { block: AuditBlock; lines: string[]; size: number; t0: number }>()
  const close = (chainId: string) => {
    const current = open.get(chainId)
    if (!current) return
    open.delete(chainId)
    const { block, lines } = current
    const first = block.events[0] as AuditEvent
    done.push({ ...block, sortKey: eventSortKey(first), json: `[${lines.join(',')}]` })
  }
  for (const event of events) {
    const line = JSON.stringify(event)
    const at = Date.parse(event.time)
    let current = open.get(event.chain.id)
    if (
      current &&
      (at - current.t0 > BLOCK_SPAN_MS ||
        current.block.events.length >= MAX_BLOCK_EVENTS ||
        current.size + line.length + 1 > MAX_BLOCK_JSON)
    ) {
      close(event.chain.id)
      current = undefined
    }
    if (!current) {
      const block = { tenantId: event.tenantId, chainId: event.chain.id, events: [] }
      current = { block, lines: [], size: 2, t0: at }
      open.set(event.chain.id, current)
    }
    current.block.events.push(event)
    current.lines.push(line)
    current.size += line.length + 1
  }
  for (const chainId of [...open.keys()]) close(chainId)
  return done
}

/**
 * The stored bytes of a block. Large ones (buffered flushes) are compressed on libuv's thread
 * pool, off the event loop; small ones (strict group commits, a few dozen events) at once,
 * where the trip to the pool and back would cost the waiting requests more than the work.
 */
export async function compressBlock(block: EncodedBlock): Promise<Buffer> {
  const bytes = Buffer.from(block.json, 'utf8')
  return bytes.length < 64 * 1024 ? gzipSync(bytes, { level: 1 }) : gzipAsync(bytes, { level: 1 })
}

/** A block as read back: its events, or why they could not be read (a tampered item). */
export interface StoredBlock {
  sortKey: string
  events: unknown[]
  unreadable?: string
}

export async function readBlock(sortKey: string, data: unknown): Promise<StoredBlock> {
  try {
    if (!(data instanceof Uint8Array)) throw new Error('no events attribute')
    const events: unknown = JSON.parse((await gunzipAsync(data)).toString('utf8'))
    if (!Array.isArray(events)) throw new Error('not a list of events')
    return { sortKey, events }
  } catch (error) {
    return { sortKey, events: [], unreadable: (error as Error).message.slice(0, 100) }
  }
}

/** The first event's (time, chain, seq) as written in a block's sort key. */
export function parseSortKey(sortKey: string): { time: string; chainId: string; seq: number } {
  const [, time = '', chainId = '', seq = ''] = sortKey.split('#')
  return { time, chainId, seq: Number(seq) }
}

const EVENT_FIELDS = [
  'id',
  'tenantId',
  'time',
  'action',
  'actor',
  'target',
  'outcome',
  'requestId',
  'client',
  'details',
  'chain',
  'hash',
] as const

/** An event as read back from a block: exactly the hashed fields, nothing else. */
export function toEvent(entry: unknown): AuditEvent {
  const item = entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : {}
  const out: Record<string, unknown> = {}
  for (const field of EVENT_FIELDS) out[field] = item[field] ?? null
  // Hashed only when present (chain.ts): events recorded before trace ids have none.
  if (typeof item.traceId === 'string') out.traceId = item.traceId
  return out as unknown as AuditEvent
}
