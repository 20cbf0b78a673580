import type { Hono } from 'hono'
import type { UsageRow } from '../../storage/usage.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { allKeys, allTokens } from './lists.ts'
import { UsagePage, type UsageSeries } from './pages/usage.tsx'
import { frameOf, render } from './render.ts'

/** `/usage`: reads per key and per token per day, from the usage counters. */
export function registerUsagePage(
  router: Hono<DashboardEnv>,
  { usageReport, keyService, tokens }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/usage', session, async (c) => {
    const principal = c.get('principal')
    const [report, keys, tokenList] = await Promise.all([
      usageReport.daily(principal, 30),
      allKeys(keyService, principal),
      principal.scopes.includes('tokens:write') ? allTokens(tokens, principal) : undefined,
    ])
    const keyNames = new Map(keys.map((k) => [k.keyId, k.name]))
    const tokenNames = new Map((tokenList ?? []).map((t) => [t.tokenId, t.name ?? t.tokenId]))
    return render(
      c,
      <UsagePage
        frame={frameOf(c)}
        days={report.days}
        keys={seriesOf(report.rows, 'key', report.days, keyNames)}
        tokens={tokenList ? seriesOf(report.rows, 'token', report.days, tokenNames) : undefined}
      />,
    )
  })
}

/** One series per key (or token) still there, most read first. */
export function seriesOf(
  rows: UsageRow[],
  subject: UsageRow['subject'],
  days: string[],
  names: Map<string, string>,
): UsageSeries[] {
  const index = new Map(days.map((day, i) => [day, i]))
  const series = new Map<string, UsageSeries>()
  for (const row of rows) {
    const name = names.get(row.id)
    const at = index.get(row.day)
    if (row.subject !== subject || name === undefined || at === undefined) continue
    let s = series.get(row.id)
    if (!s) {
      s = { id: row.id, name, counts: days.map(() => 0), total: 0 }
      series.set(row.id, s)
    }
    s.counts[at] = (s.counts[at] ?? 0) + row.reads
    s.total += row.reads
  }
  return [...series.values()].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name))
}
