import type { Principal } from '../auth/principal.ts'
import { keyAllowed, requireScope } from '../auth/scopes.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import { decodeAuditCursor, encodeAuditCursor } from '../storage/audit-read.ts'
import type { AuditStore, BlockQuery } from '../storage/audit-store.ts'
import { BLOCK_SPAN_MS } from './blocks.ts'
import type { ChainHead } from './chain.ts'
import { type AuditEvent, actorOf, SUCCESS } from './events.ts'
import { newestFirst, oldestFirst, type Placed } from './timeline.ts'
import { createVerifier, type VerifyReport } from './verify.ts'
import type { AuditRecorder } from './writer.ts'

export interface AuditLogDeps {
  store: Pick<AuditStore, 'queryBlocks' | 'readHeads'>
  audit: Pick<AuditRecorder, 'record'>
  clock: Clock
  retentionDays: number
}

export interface TimeRange {
  from?: Date
  to?: Date
}

export interface EventFilter {
  /** An action, or a family of them: `key.*`. */
  action?: string | undefined
  actorId?: string | undefined
  targetType?: string | undefined
  targetId?: string | undefined
}

export interface ListQuery extends TimeRange, EventFilter {
  limit: number
  cursor?: string
}

export interface RequestFacts {
  requestId: string
  traceId?: string | undefined
  client: { address?: string | undefined; userAgent?: string | undefined }
}

const BLOCK_PAGE = 25
/** A filter may match little: one list call reads about this many blocks, then hands a cursor. */
const MAX_BLOCKS_PER_LIST = 200

function matches(event: AuditEvent, filter: EventFilter): boolean {
  const { action, actorId, targetType, targetId } = filter
  if (action !== undefined) {
    const family = action.endsWith('.*') ? action.slice(0, -1) : undefined
    if (family ? !event.action?.startsWith(family) : event.action !== action) return false
  }
  if (actorId !== undefined && event.actor?.id !== actorId) return false
  if (targetType !== undefined && event.target?.type !== targetType) return false
  if (targetId !== undefined && event.target?.id !== targetId) return false
  return true
}

/**
 * What a key-restricted token may read of the trail: events about its keys, and its own
 * actions. An unrestricted token and a session read everything.
 */
function visibleTo(principal: Principal, event: AuditEvent): boolean {
  if (principal.keys === undefined) return true
  if (event.actor?.id === principal.tokenId) return true
  const target = event.target
  return (
    target?.type === 'key' &&
    keyAllowed(principal.keys, { id: target.id, name: target.name ?? target.id })
  )
}

/** Reading the audit trail: listing, NDJSON export and chain verification. */
export function createAuditLog({ store, audit, clock, retentionDays }: AuditLogDeps) {
  /** The sort-key bounds of a time range, never reaching past the retention period. */
  function bounds({ from, to }: TimeRange) {
    const now = clock.now()
    const oldest = now - retentionDays * 86400_000
    const start = new Date(Math.max(from?.getTime() ?? oldest, oldest)).toISOString()
    const end = (to ?? new Date(now)).toISOString()
    if (start > end) throw new AppError('bad_request', '`from` must not be after `to`.')
    // `~` sorts after every character of a chain id, so events at `end` itself are included.
    const lo = `EVT#${start}`
    const hi = `EVT#${end}#~`
    return {
      start,
      end,
      lo,
      hi,
      /** Where the blocks that may hold events of the range start: one block span earlier. */
      blocksFrom: `EVT#${new Date(Date.parse(start) - BLOCK_SPAN_MS).toISOString()}`,
      inRange: (key: string) => key >= lo && key <= hi,
      nowSeconds: Math.floor(now / 1000),
    }
  }

  /** Every block that may hold events of the range, oldest first, strongly consistent. */
  const rangeBlocks = (tenantId: string, range: ReturnType<typeof bounds>) =>
    blocks(tenantId, {
      lo: range.blocksFrom,
      hi: range.hi,
      nowSeconds: range.nowSeconds,
      limit: BLOCK_PAGE,
      consistent: true,
    })

  async function* blocks(tenantId: string, query: BlockQuery) {
    let startKey = query.startKey
    do {
      const page = await store.queryBlocks(tenantId, { ...query, startKey })
      yield page.blocks
      startKey = page.lastKey
    } while (startKey)
  }

  return {
    /** Newest first, filtered; `cursor` continues where the previous page stopped. */
    async list(principal: Principal, query: ListQuery) {
      requireScope(principal, 'audit:read')
      const range = bounds(query)
      const cursor = decodeAuditCursor(principal.tenantId, query.cursor)
      if (cursor !== undefined && !range.inRange(cursor)) {
        throw new AppError('bad_request', 'The cursor is not valid for this time range.')
      }
      // Events older than the cursor: the last one handed out, or where the reading stopped.
      const before = cursor ?? `${range.hi}~`
      const source = blocks(principal.tenantId, {
        lo: range.blocksFrom,
        hi: before,
        nowSeconds: range.nowSeconds,
        descending: true,
        limit: BLOCK_PAGE,
      })
      const items: Placed[] = []
      let read = 0
      let next: string | null = null
      for await (const { ready, frontier } of newestFirst(source)) {
        for (const entry of ready) {
          if (
            entry.key >= before ||
            !range.inRange(entry.key) ||
            !matches(entry.event, query) ||
            !visibleTo(principal, entry.event)
          )
            continue
          if (items.length === query.limit) {
            next = (items[items.length - 1] as Placed).key
            break
          }
          items.push(entry)
        }
        if (next !== null || frontier === '' || frontier < range.lo) break
        if (++read >= MAX_BLOCKS_PER_LIST && frontier < before) {
          next = frontier
          break
        }
      }
      return {
        items: items.map(({ event }) => event),
        nextCursor: next === null ? null : encodeAuditCursor(principal.tenantId, next),
      }
    },

    /**
     * Oldest first, one page in memory at a time. Exporting is itself recorded first (in
     * strict mode, an export that cannot be recorded is refused before anything is read), and
     * the first page is read before returning so a storage failure is still a proper error.
     */
    async exportEvents(
      principal: Principal,
      query: TimeRange & { action?: string },
      facts: RequestFacts,
    ): Promise<AsyncIterable<AuditEvent[]>> {
      requireScope(principal, 'audit:read')
      const requested = bounds(query)
      await audit.record({
        tenantId: principal.tenantId,
        action: 'audit.export',
        actor: actorOf(principal),
        target: { type: 'audit', id: principal.tenantId },
        outcome: SUCCESS,
        requestId: facts.requestId,
        traceId: facts.traceId ?? null,
        client: facts.client,
        details: { from: requested.start, to: requested.end },
      })
      // Bounds again, after the event: an export up to now includes its own record.
      const range = bounds(query)
      const filter = { action: query.action }
      const steps = oldestFirst(rangeBlocks(principal.tenantId, range))
      const pick = (ready: Placed[]) =>
        ready.flatMap(({ event, key }) =>
          range.inRange(key) && matches(event, filter) && visibleTo(principal, event)
            ? [event]
            : [],
        )
      const first = await steps.next()
      return (async function* () {
        if (first.done) return
        yield pick(first.value.ready)
        for await (const { ready } of steps) if (ready.length > 0) yield pick(ready)
      })()
    },

    /**
     * Recomputes every chain over the range and returns the problems found, plus the current
     * chain heads: a tenant that keeps them can later prove the log was not rewritten since.
     */
    async verify(
      principal: Principal,
      query: TimeRange,
    ): Promise<VerifyReport & { heads: ChainHead[] }> {
      requireScope(principal, 'audit:read')
      // Verifying needs every event of every chain, which a restricted token may not read.
      if (principal.keys !== undefined) {
        throw new AppError(
          'insufficient_scope',
          'Verifying the audit trail reads every event: use a token without key restrictions.',
          { extra: { requiredScope: 'audit:read' } },
        )
      }
      const range = bounds(query)
      const { tenantId } = principal
      const headsBefore = await store.readHeads(tenantId, range.nowSeconds)
      const verifier = createVerifier({ tenantId, from: range.start, to: range.end })
      for await (const page of rangeBlocks(tenantId, range)) {
        for (const block of page) verifier.addBlock(block)
      }
      const headsAfter = await store.readHeads(tenantId, range.nowSeconds)
      const report = verifier.finish(headsBefore, headsAfter)
      return { ...report, heads: headsAfter.sort((a, b) => a.chainId.localeCompare(b.chainId)) }
    },
  }
}

export type AuditLog = ReturnType<typeof createAuditLog>
