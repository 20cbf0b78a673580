const DAY_MS = 86_400_000

/** When a key's replacement falls due: its current version's creation plus the policy. */
export function rotationDueAt(versionCreatedAt: string, rotateEveryDays: number): string {
  return new Date(Date.parse(versionCreatedAt) + rotateEveryDays * DAY_MS).toISOString()
}

/** What a listing asks for, in days from now, as the API and the CLI say it. */
export interface LifetimeQuery {
  /** Expiring within this many days (already expired included). */
  expiringWithinDays?: number
  /** Replacement overdue now. */
  rotationOverdue?: boolean
  /** Not used for this many days (a younger item is not "unused" yet). */
  unusedForDays?: number
  neverUsed?: boolean
}

/** The same filters as moments, which is what storage compares against. */
export function lifetimeFilters(query: LifetimeQuery, now: number) {
  const at = (days: number) => new Date(now + days * DAY_MS).toISOString()
  return {
    ...(query.expiringWithinDays !== undefined
      ? { expiringBefore: at(query.expiringWithinDays) }
      : {}),
    ...(query.rotationOverdue ? { rotationDueBefore: at(0) } : {}),
    ...(query.unusedForDays !== undefined ? { unusedSince: at(-query.unusedForDays) } : {}),
    ...(query.neverUsed ? { neverUsed: true } : {}),
  }
}
