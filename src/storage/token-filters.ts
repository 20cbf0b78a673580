/** Listing filters; each is a moment already worked out by the caller. */
export interface TokenListFilters {
  /** Live tokens (neither expired nor revoked at `now`) expiring at or before this moment. */
  expiringBefore?: string
  now?: string
  /** Tokens not used since this moment (and created before it). */
  unusedSince?: string
  neverUsed?: boolean
}

/** The FilterExpression of a token listing: every given filter must hold. */
export function tokenFilterExpression(filter: TokenListFilters) {
  const filters: string[] = []
  const values: Record<string, unknown> = {}
  if (filter.expiringBefore) {
    filters.push('expiresAt <= :expiringBefore AND expiresAt > :now')
    filters.push('attribute_not_exists(revokedAt)')
    values[':expiringBefore'] = filter.expiringBefore
    values[':now'] = filter.now ?? new Date(0).toISOString()
  }
  if (filter.unusedSince) {
    filters.push(
      '(lastUsedAt < :unusedSince OR (attribute_not_exists(lastUsedAt) AND createdAt < :unusedSince))',
    )
    values[':unusedSince'] = filter.unusedSince
  }
  if (filter.neverUsed) filters.push('attribute_not_exists(lastUsedAt)')
  return { filters, values }
}
