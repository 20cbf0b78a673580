import { z } from 'zod'
import { AppError } from '../errors.ts'
import { cidrCovers } from '../net/cidr.ts'
import type { Grant, Principal } from './principal.ts'

/**
 * What a token may do. No scope implies another (`org:write` does not include `keys:read`):
 * a token gets exactly the list it was minted with. Each names one power, so a token can be
 * given that power and nothing next to it.
 */
export const SCOPES = [
  'keys:read', // reveal key values
  'keys:list', // metadata, versions, last-used
  'keys:write', // create keys, add versions, change metadata, delete (production only)
  'tokens:write', // mint tokens; see, describe and revoke the tokens this token minted
  'audit:read',
  'org:read', // describe the organization and its encryption settings
  'org:write', // rename the organization
  'mock:write', // mock defaults and per-key mock overrides (production only)
  'encryption:write', // switch the tenant's key-encryption key (production only)
] as const

export type Scope = (typeof SCOPES)[number]
export const scopeSchema = z.enum(SCOPES)

/**
 * Scopes about the whole tenant rather than some of its keys: a key-restricted token cannot
 * hold them, since a restriction would not restrict them.
 */
export const TENANT_WIDE_SCOPES: readonly Scope[] = [
  'org:read',
  'org:write',
  'mock:write',
  'encryption:write',
]

/**
 * The one scope of earlier releases that covered the organization, the encryption switch and
 * the mock settings at once. Tokens that carry it keep working: it reads as the scopes it was
 * split into, in a token's claims and in its stored record alike, and minting still accepts it.
 */
export const LEGACY_SCOPES: Readonly<Record<string, readonly Scope[]>> = {
  'org:admin': ['org:read', 'org:write', 'mock:write', 'encryption:write'],
}

/**
 * Scopes as written (in a claim, a stored record or a request), with legacy names expanded and
 * names this version does not know dropped: an older server grants less, never more.
 */
export function normalizeScopes(words: Iterable<string>): Scope[] {
  const scopes = new Set<Scope>()
  for (const word of words) {
    const legacy = LEGACY_SCOPES[word]
    if (legacy) for (const scope of legacy) scopes.add(scope)
    else if ((SCOPES as readonly string[]).includes(word)) scopes.add(word as Scope)
  }
  return [...scopes]
}

/**
 * One entry of a token's `keys` restriction: a key id or name matched exactly, or a prefix
 * ending in `*` (`openai-*`) matched against the start of the key's id or name. Matching the
 * prefix against both, like exact entries, is what keeps `assertSubset` sound: a child's exact
 * entry that starts with the parent's prefix then selects nothing the parent could not.
 */
export const keyRestrictionSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((entry) => !entry.slice(0, -1).includes('*'), {
    message: 'a key restriction may contain * only as its last character',
  })
export const keyRestrictionsSchema = z.array(keyRestrictionSchema).max(100)

export function requireScope(principal: Pick<Principal, 'scopes'>, scope: Scope): void {
  if (principal.scopes.includes(scope)) return
  throw new AppError('insufficient_scope', `This token lacks the ${scope} scope`, {
    extra: { requiredScope: scope },
    headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
  })
}

/** `restrictions` undefined: every key; an empty list: no key at all. */
export function keyAllowed(
  restrictions: readonly string[] | undefined,
  key: { id: string; name: string },
): boolean {
  if (restrictions === undefined) return true
  return restrictions.some((entry) => entryMatches(entry, key))
}

/**
 * A key outside the token's restriction answers exactly like a missing one, so a restricted
 * token cannot learn which names exist.
 */
export function requireKeyAccess(
  principal: Pick<Principal, 'keys'>,
  key: { id: string; name: string },
): void {
  if (keyAllowed(principal.keys, key)) return
  throw new AppError('not_found', 'No such key.')
}

/**
 * The environment boundary: what decides the values a wider environment receives (key
 * values, key metadata, mock settings, the encryption key) is changed by people's sessions
 * and production tokens only. A development or staging credential that leaks can read what
 * its environment reads and nothing more.
 */
export function requireProductionChange(
  principal: Pick<Principal, 'kind' | 'environment'>,
  what: string,
): void {
  if (principal.kind === 'session' || principal.environment === 'production') return
  throw new AppError(
    'environment_boundary',
    `A ${principal.environment ?? 'non-production'} token cannot change ${what}; use a production token or a session.`,
    { extra: { environment: principal.environment ?? null } },
  )
}

function entryMatches(entry: string, key: { id: string; name: string }): boolean {
  const prefix = wildcardPrefix(entry)
  if (prefix === undefined) return entry === key.id || entry === key.name
  return key.id.startsWith(prefix) || key.name.startsWith(prefix)
}

function wildcardPrefix(entry: string): string | undefined {
  return entry.endsWith('*') ? entry.slice(0, -1) : undefined
}

/** Whether every key `child` selects is also selected by `parent` (one entry each). */
function entryCovers(parent: string, child: string): boolean {
  const parentPrefix = wildcardPrefix(parent)
  if (parentPrefix === undefined) return parent === child
  // A child prefix `openai-prod-` or an exact `openai-prod` both start with `openai-`.
  return (wildcardPrefix(child) ?? child).startsWith(parentPrefix)
}

/**
 * The no-escalation rule for minting: the child grant must not exceed the parent in scopes,
 * key restrictions, environment or lifetime. Throws `scope_escalation` naming every excess.
 */
export function assertSubset(parent: Grant, child: Grant): void {
  const exceeded: string[] = []
  const problems: string[] = []

  const extraScopes = child.scopes.filter((scope) => !parent.scopes.includes(scope))
  if (extraScopes.length > 0) {
    exceeded.push('scopes')
    problems.push(`scopes not held by the parent: ${extraScopes.join(', ')}`)
  }

  if (parent.keys !== undefined) {
    const parentKeys = parent.keys
    if (child.keys === undefined) {
      exceeded.push('keys')
      problems.push('the parent is restricted to some keys, so the child must be too')
    } else {
      const uncovered = child.keys.filter((c) => !parentKeys.some((p) => entryCovers(p, c)))
      if (uncovered.length > 0) {
        exceeded.push('keys')
        problems.push(`key restrictions outside the parent's: ${uncovered.join(', ')}`)
      }
    }
  }

  if (parent.cidrs !== undefined) {
    const parentCidrs = parent.cidrs
    if (child.cidrs === undefined) {
      exceeded.push('cidrs')
      problems.push('the parent is restricted to some addresses, so the child must be too')
    } else {
      const wider = child.cidrs.filter((c) => !parentCidrs.some((p) => cidrCovers(p, c)))
      if (wider.length > 0) {
        exceeded.push('cidrs')
        problems.push(`address ranges outside the parent's: ${wider.join(', ')}`)
      }
    }
  }

  // A session is a person and may mint for any environment; an access token only for its own,
  // and never a session (which would shed the environment restriction).
  if (parent.kind !== 'session') {
    if (child.kind === 'session') {
      exceeded.push('kind')
      problems.push('an access token cannot create a session')
    } else if (child.environment === undefined || child.environment !== parent.environment) {
      exceeded.push('environment')
      problems.push(
        `the environment must be ${parent.environment ?? 'the parent token environment'}`,
      )
    }
  }

  // An access token's authority ends when it expires, so nothing it mints may outlive it. A
  // session is the person, whose authority outlives the session: the server's maximum token
  // lifetime bounds what it mints, or a 12-hour session could never issue a 90-day token.
  if (parent.kind !== 'session' && child.expiresAt.getTime() > parent.expiresAt.getTime()) {
    exceeded.push('expiresAt')
    problems.push('the child cannot expire after the parent')
  }

  if (exceeded.length === 0) return
  throw new AppError(
    'scope_escalation',
    `A token cannot grant more than it holds: ${problems.join('; ')}`,
    {
      extra: { exceeded },
    },
  )
}
