import type { Principal } from '../auth/principal.ts'
import { requireScope } from '../auth/scopes.ts'
import type { Clock } from '../lib/clock.ts'
import type { UsageCounter, UsageRow } from '../storage/usage.ts'

const DAY_MS = 86400_000

/** Reads per key and per token per day, from the counters (never from the audit trail). */
export function createUsageReport({
  usage,
  clock,
}: {
  usage: Pick<UsageCounter, 'read'>
  clock: Clock
}) {
  return {
    /**
     * The last `days` days (today included). Key counts need `keys:list`; token counts are
     * included only for callers that manage tokens (`tokens:write`).
     */
    async daily(principal: Principal, days = 30): Promise<{ days: string[]; rows: UsageRow[] }> {
      requireScope(principal, 'keys:list')
      const today = Math.floor(clock.now() / DAY_MS)
      const list = Array.from({ length: days }, (_, i) =>
        new Date((today - days + 1 + i) * DAY_MS).toISOString().slice(0, 10),
      )
      const rows = await usage.read(principal.tenantId, (today - days + 1) * DAY_MS)
      const mayTokens = principal.scopes.includes('tokens:write')
      return { days: list, rows: rows.filter((r) => r.subject === 'key' || mayTokens) }
    },
  }
}

export type UsageReport = ReturnType<typeof createUsageReport>
