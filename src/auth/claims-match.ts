import type { TokenRecord } from '../storage/token-record.ts'
import type { Principal } from './principal.ts'

/**
 * Which of an access token's grants differ between its signed claims and its stored record:
 * scopes, key restrictions, environment, address ranges, expiry and, when the token names
 * them, its ancestors. The record is the source of truth, so any difference refuses the token
 * (a claim set the server never issued means a signing key is misused). Tokens of earlier
 * releases name no ancestors; the record's are then used alone.
 */
export function claimsMismatch(claims: Principal, record: TokenRecord): string[] {
  const fields: string[] = []
  // A token narrowed after its creator lost a role holds fewer scopes than it names, never more.
  const scopesMatch = record.narrowedAt
    ? record.scopes.every((scope) => claims.scopes.includes(scope))
    : sameSet(claims.scopes, record.scopes)
  if (!scopesMatch) fields.push('scopes')
  if (!sameOptionalSet(claims.keys, record.keys)) fields.push('keys')
  if (claims.environment !== record.environment) fields.push('environment')
  if (!sameOptionalSet(claims.cidrs, record.cidrs)) fields.push('cidrs')
  if (claims.expiresAt.getTime() !== Date.parse(record.expiresAt)) fields.push('expiresAt')
  if (claims.ancestors !== undefined && !sameList(claims.ancestors, record.ancestors ?? [])) {
    fields.push('ancestors')
  }
  return fields
}

function sameOptionalSet(a: readonly string[] | undefined, b: readonly string[] | undefined) {
  if (a === undefined || b === undefined) return a === b
  return sameSet(a, b)
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a)
  const right = new Set(b)
  return left.size === right.size && [...left].every((x) => right.has(x))
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
