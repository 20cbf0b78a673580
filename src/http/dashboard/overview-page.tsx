import type { Hono } from 'hono'
import { describeKey } from '../../domain/key-description.ts'
import { describeToken } from '../../domain/tokens.ts'
import { isAppError } from '../../errors.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { allKeys, allTokens } from './lists.ts'
import { OverviewPage } from './pages/overview.tsx'
import { frameOf, render } from './render.ts'
import { deniedOnly, expiringWithin, replacementDue, unusedFor } from './review.ts'

/** The most recent events the overview looks through for denied requests. */
const RECENT_EVENTS = 500

/** `/`: the "review access" overview, the dashboard's front page. */
export function registerOverviewPage(
  router: Hono<DashboardEnv>,
  { keyService, tokens, auditLog, clock }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/', session, async (c) => {
    const principal = c.get('principal')
    const now = clock.now()
    // A person whose role cannot manage tokens or read the audit trail sees the rest.
    const [keys, tokenList, events] = await Promise.all([
      allKeys(keyService, principal),
      unlessForbidden(allTokens(tokens, principal), []),
      unlessForbidden(
        auditLog.list(principal, { from: new Date(now - 7 * 86400_000), limit: RECENT_EVENTS }),
        { items: [], nextCursor: null },
      ),
    ])
    const keyViews = keys.map(describeKey)
    const tokenViews = tokenList.map(describeToken)
    return render(
      c,
      <OverviewPage
        frame={frameOf(c)}
        review={{
          staleTokens: [30, 90].map((days) => ({
            days,
            tokens: unusedFor(tokenViews, days, now),
          })),
          expiringTokens: expiringWithin(tokenViews, 7, now),
          keysDue: replacementDue(keyViews, 30, now).map((key) => ({
            key,
            overdue: key.rotationDueAt !== null && Date.parse(key.rotationDueAt) <= now,
          })),
          staleKeys: [30, 90].map((days) => ({ days, keys: unusedFor(keyViews, days, now) })),
          denied: deniedOnly(events.items),
        }}
      />,
    )
  })
}

/** What `work` answers, or `fallback` when the caller lacks the scope it needs. */
function unlessForbidden<T>(work: Promise<T>, fallback: T): Promise<T> {
  return work.catch((error: unknown) => {
    if (isAppError(error) && error.code === 'insufficient_scope') return fallback
    throw error
  })
}
