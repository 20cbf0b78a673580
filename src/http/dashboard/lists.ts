import type { Principal } from '../../auth/principal.ts'
import type { KeyService } from '../../domain/keys.ts'
import type { TokenService } from '../../domain/tokens.ts'

/** Enough for a page a person reads; the API pages through any number. */
const PAGE_LIMIT = 1000

/** A tenant's keys the principal may see, through the same service (and rules) as the API. */
export async function allKeys(keyService: Pick<KeyService, 'list'>, principal: Principal) {
  return collect((cursor) => keyService.list(principal, { limit: 100, ...cursor }))
}

/** A tenant's access tokens, through the same service (and rules) as the API. */
export async function allTokens(tokens: Pick<TokenService, 'list'>, principal: Principal) {
  return collect((cursor) => tokens.list(principal, { limit: 100, ...cursor }))
}

async function collect<T>(
  read: (cursor: { cursor?: string }) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const page: { items: T[]; nextCursor: string | null } = await read(cursor ? { cursor } : {})
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor && items.length < PAGE_LIMIT)
  return items
}
