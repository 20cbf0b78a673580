import type { Clock } from '../auth/clock.ts'
import type { Principal } from '../auth/principal.ts'
import { requireScope } from '../auth/scopes.ts'
import { AppError } from '../errors.ts'
import { decodeCursor, encodeCursor } from '../storage/cursor.ts'
import type { ChainHead } from './chain.ts'
import { type AuditEvent, actorOf, SUCCESS } from './events.ts'
import { type AuditStore, auditPk, type EventQuery } from './store.ts'
import { createVerifier, type VerifyReport } from './verify.ts'
import type { AuditRecorder } from './writer.ts'

export interface AuditLogDeps {
  store: Pick<AuditStore, 'queryEvents' | 'readHeads'>
  audit: Pick<AuditRecorder, 'record'>
  clock: Clock
  retentionDays: number
}

export interface TimeRange {
  from?: Date
  to?: Date
}

export interface ListQuery extends TimeRange, NonNullable<EventQuery['filter']> {
  limit: number
  cursor?: string
}

export interface RequestFacts {
  requestId: string
  client: { address?: string | undefined; userAgent?: string | undefined }
}

const EXPORT_PAGE = 200
/** A filter may match little: one list call reads at most this many pages, then hands a cursor. */
const MAX_PAGES_PER_LIST = 10

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
    return {
      start,
      end,
      lo: `EVT#${start}`,
      hi: `EVT#${end}#~`,
      nowSeconds: Math.floor(now / 1000),
    }
  }

  async function* pages(tenantId: string, query: EventQuery) {
    let startKey = query.startKey
    do {
      const page = await store.queryEvents(tenantId, { ...query, startKey })
      yield page.items
      startKey = page.lastKey
    } while (startKey)
  }

  return {
    /** Newest first, filtered; `cursor` continues where the previous page stopped. */
    async list(principal: Principal, query: ListQuery) {
      requireScope(principal, 'audit:read')
      const range = bounds(query)
      const pk = auditPk(principal.tenantId)
      let startKey: Record<string, unknown> | undefined = decodeCursor(query.cursor, {
        pk,
        skPrefix: 'EVT#',
      })
      const sk = startKey?.sk
      if (typeof sk === 'string' && (sk < range.lo || sk > range.hi)) {
        throw new AppError('bad_request', 'The cursor is not valid for this time range.')
      }
      const items: AuditEvent[] = []
      const filter = {
        action: query.action,
        actorId: query.actorId,
        targetType: query.targetType,
        targetId: query.targetId,
      }
      for (let read = 0; read < MAX_PAGES_PER_LIST; read++) {
        const page = await store.queryEvents(principal.tenantId, {
          ...range,
          descending: true,
          limit: query.limit - items.length,
          startKey,
          filter,
        })
        items.push(...page.items.map(({ event }) => event))
        startKey = page.lastKey
        if (!startKey || items.length >= query.limit) break
      }
      return { items, nextCursor: encodeCursor(startKey) }
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
        client: facts.client,
        details: { from: requested.start, to: requested.end },
      })
      // Bounds again, after the event: an export up to now includes its own record.
      const range = bounds(query)
      const filter = query.action === undefined ? {} : { action: query.action }
      const exportQuery = { ...range, limit: EXPORT_PAGE, filter, consistent: true }
      const iterator = pages(principal.tenantId, exportQuery)
      const first = await iterator.next()
      return (async function* () {
        if (first.done) return
        yield first.value.map(({ event }) => event)
        for await (const items of iterator) yield items.map(({ event }) => event)
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
      const range = bounds(query)
      const { tenantId } = principal
      const headsBefore = await store.readHeads(tenantId, range.nowSeconds)
      const verifier = createVerifier({ tenantId, from: range.start, to: range.end })
      for await (const items of pages(tenantId, { ...range, limit: 500, consistent: true })) {
        for (const { event, sortKey } of items) verifier.add(event, sortKey)
      }
      const headsAfter = await store.readHeads(tenantId, range.nowSeconds)
      const report = verifier.finish(headsBefore, headsAfter)
      return { ...report, heads: headsAfter.sort((a, b) => a.chainId.localeCompare(b.chainId)) }
    },
  }
}

export type AuditLog = ReturnType<typeof createAuditLog>
