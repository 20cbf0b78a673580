import type { Context, Hono } from 'hono'
import { z } from 'zod'
import { clientOf } from '../client.ts'
import { parseInput } from '../router.ts'
import { ndjsonStream } from '../routes/audit.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { type AuditFilter, AuditPage } from './pages/audit.tsx'
import { frameOf, render } from './render.ts'

const Day = z.union([z.literal(''), z.iso.date()])
const Filter = z.object({
  from: Day,
  to: Day,
  action: z.string().max(64),
  actor: z.string().max(128),
  target: z.string().max(200),
  cursor: z.string().max(2048).optional(),
})

/** `/audit`: the trail with filters and pages, its NDJSON export and chain verification. */
export function registerAuditPages(
  router: Hono<DashboardEnv>,
  { auditLog }: DashboardDeps,
  { session }: PageKit,
) {
  const page = async (c: Context<DashboardEnv>, verify: boolean) => {
    const { cursor, ...filter } = filterOf(c)
    const principal = c.get('principal')
    const range = rangeOf(filter)
    const [list, verified] = await Promise.all([
      auditLog.list(principal, {
        ...range,
        limit: 50,
        ...(filter.action ? { action: filter.action } : {}),
        ...(filter.actor ? { actorId: filter.actor } : {}),
        ...(filter.target ? { targetId: filter.target } : {}),
        ...(cursor ? { cursor } : {}),
      }),
      verify ? auditLog.verify(principal, range) : undefined,
    ])
    const next = list.nextCursor
      ? new URLSearchParams({
          ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== '')),
          cursor: list.nextCursor,
        }).toString()
      : undefined
    return render(
      c,
      <AuditPage
        frame={frameOf(c)}
        filter={filter}
        events={list.items}
        next={next}
        verified={verified}
      />,
    )
  }
  router.get('/audit', session, (c) => page(c, false))
  router.get('/audit/verify', session, (c) => page(c, true))

  router.get('/audit/export', session, async (c) => {
    const { action, ...filter } = filterOf(c)
    const { address, userAgent } = clientOf(c)
    const pages = await auditLog.exportEvents(
      c.get('principal'),
      { ...rangeOf(filter), ...(action ? { action } : {}) },
      { requestId: c.get('requestId'), client: { address, userAgent } },
    )
    return c.body(ndjsonStream(pages, c.get('log')), 200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'content-disposition': 'attachment; filename="keystash-audit.ndjson"',
    })
  })
}

function filterOf(c: Context<DashboardEnv>): AuditFilter & { cursor?: string } {
  return parseInput(Filter, {
    from: c.req.query('from') ?? '',
    to: c.req.query('to') ?? '',
    action: c.req.query('action')?.trim() ?? '',
    actor: c.req.query('actor')?.trim() ?? '',
    target: c.req.query('target')?.trim() ?? '',
    cursor: c.req.query('cursor') || undefined,
  })
}

/** Whole UTC days: from the start of `from` to the end of `to`. */
function rangeOf(filter: Pick<AuditFilter, 'from' | 'to'>): { from?: Date; to?: Date } {
  return {
    ...(filter.from ? { from: new Date(`${filter.from}T00:00:00.000Z`) } : {}),
    ...(filter.to ? { to: new Date(`${filter.to}T23:59:59.999Z`) } : {}),
  }
}
