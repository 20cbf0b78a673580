import type { AuditEvent } from '../../audit/events.ts'

const DAY_MS = 86400_000

interface Usable {
  createdAt: string
  lastUsedAt: string | null
  revokedAt?: string | null
}

/**
 * Items not used for `days` days: last used before then, or never used and created before
 * then (a token minted yesterday is not stale yet). Revoked tokens need no action.
 */
export function unusedFor<T extends Usable>(items: T[], days: number, nowMs: number): T[] {
  const cutoff = nowMs - days * DAY_MS
  return items.filter(
    (item) => !item.revokedAt && Date.parse(item.lastUsedAt ?? item.createdAt) < cutoff,
  )
}

/** Live tokens whose expiry falls within `days` days. */
export function expiringWithin<T extends { expiresAt: string; revokedAt: string | null }>(
  tokens: T[],
  days: number,
  nowMs: number,
): T[] {
  return tokens.filter((t) => {
    const at = Date.parse(t.expiresAt)
    return !t.revokedAt && at > nowMs && at <= nowMs + days * DAY_MS
  })
}

/**
 * Keys a person should replace at the provider: overdue by their replacement policy
 * (`rotationDueAt` passed), or whose provider key expires within `days` days (or has expired).
 */
export function replacementDue<
  T extends { expiresAt: string | null; rotationDueAt: string | null },
>(keys: T[], days: number, nowMs: number): T[] {
  return keys.filter(
    (k) =>
      (k.rotationDueAt !== null && Date.parse(k.rotationDueAt) <= nowMs) ||
      (k.expiresAt !== null && Date.parse(k.expiresAt) <= nowMs + days * DAY_MS),
  )
}

export const deniedOnly = (events: AuditEvent[]) =>
  events.filter((e) => e.outcome.result === 'denied')
