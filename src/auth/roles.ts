import { z } from 'zod'
import type { Environment } from '../config.ts'
import { AppError } from '../errors.ts'
import type { Principal } from './principal.ts'
import { SCOPES, type Scope } from './scopes.ts'

/**
 * What a person may do in an organization. Roles are fixed sets of the token scopes
 * (scopes.ts), so a person's session and the tokens they mint speak the same language, plus
 * the powers over people that no token ever holds (members, ownership, grants).
 */
export const ROLES = ['owner', 'admin', 'developer', 'viewer'] as const
export type Role = (typeof ROLES)[number]
export const roleSchema = z.enum(ROLES)

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  // Everything: encryption, webhooks, trust relationships, renaming and deleting.
  owner: SCOPES,
  // Keys, tokens, mock settings and the audit trail; members except owners.
  admin: [
    'keys:read',
    'keys:list',
    'keys:write',
    'tokens:write',
    'audit:read',
    'org:read',
    'mock:write',
  ],
  // Keys and tokens; production values only with an owner's grant (mayRevealIn).
  developer: ['keys:read', 'keys:list', 'keys:write', 'tokens:write', 'org:read'],
  // Metadata, last-used and the audit trail; never a value.
  viewer: ['keys:list', 'audit:read', 'org:read'],
}

/** Highest first: a role manages the roles below the ones it may not touch. */
const RANK: Readonly<Record<Role, number>> = { owner: 3, admin: 2, developer: 1, viewer: 0 }

/** Who a person is in the organization of their session, read at each request. */
export interface MemberRole {
  role: Role
  /** An owner's explicit grant that lets a developer reveal production values. */
  productionReveal: boolean
}

export function scopesOfRole(role: Role): Scope[] {
  return [...ROLE_SCOPES[role]]
}

/**
 * Whether a person with this role may see the values an environment receives: owners and
 * admins everywhere, developers outside production (inside it only with a grant), viewers
 * nowhere.
 */
export function roleRevealsIn(member: MemberRole, environment: Environment): boolean {
  switch (member.role) {
    case 'owner':
    case 'admin':
      return true
    case 'developer':
      return environment !== 'production' || member.productionReveal
    case 'viewer':
      return false
  }
}

/**
 * The one decision "may this caller reveal this environment's value". A session answers for
 * its person's role at this request. An access token answers for itself: what it may reveal
 * was bounded by its creator's role when it was minted, and a demotion or a withdrawn grant
 * narrows or revokes it at once (domain/members.ts), so a token read costs nothing here.
 */
export function requireReveal(
  principal: Pick<Principal, 'kind' | 'member'>,
  environment: Environment,
): void {
  if (principal.kind !== 'session' || principal.member === undefined) return
  if (roleRevealsIn(principal.member, environment)) return
  throw new AppError(
    'role_forbids',
    principal.member.role === 'developer'
      ? 'A developer reveals production values only with an owner’s grant.'
      : `A ${principal.member.role} cannot reveal values.`,
    { extra: { role: principal.member.role, environment } },
  )
}

/**
 * What a token minted by (or descending from) a person with this role may still hold: its
 * scopes within the role's, without `keys:read` in an environment the role may not reveal.
 */
export function scopesWithinRole(
  member: MemberRole,
  scopes: readonly Scope[],
  environment: Environment,
): Scope[] {
  const allowed = ROLE_SCOPES[member.role]
  return scopes.filter(
    (scope) =>
      allowed.includes(scope) && (scope !== 'keys:read' || roleRevealsIn(member, environment)),
  )
}

/** Nobody mints a token wider than their role. */
export function requireMintWithinRole(
  principal: Pick<Principal, 'kind' | 'member'>,
  scopes: readonly Scope[],
  environment: Environment,
): void {
  if (principal.kind !== 'session' || principal.member === undefined) return
  const kept = scopesWithinRole(principal.member, scopes, environment)
  const excess = scopes.filter((scope) => !kept.includes(scope))
  if (excess.length === 0) return
  throw new AppError(
    'scope_escalation',
    `A ${principal.member.role} cannot grant ${excess.join(', ')} for ${environment}.`,
    { extra: { exceeded: ['scopes'], role: principal.member.role } },
  )
}

/**
 * Who may change whose role: owners anyone's; admins those below owner, to a role below owner.
 * Everyone else nobody's. (Keeping an owner is storage's job: members.ts.)
 */
export function mayManageMember(actor: Role, target: Role, newRole?: Role): boolean {
  if (actor === 'owner') return true
  if (actor !== 'admin') return false
  return RANK[target] < RANK.owner && (newRole === undefined || RANK[newRole] < RANK.owner)
}

/** The role that only a person's session holds power through; tokens never manage people. */
export function requireMemberManager(
  principal: Pick<Principal, 'kind' | 'member'>,
): MemberRole & { role: 'owner' | 'admin' } {
  const member = principal.kind === 'session' ? principal.member : undefined
  if (member === undefined) {
    throw new AppError('session_required', 'Only a person’s session can manage members.')
  }
  if (member.role !== 'owner' && member.role !== 'admin') {
    throw new AppError('role_forbids', `A ${member.role} cannot manage members.`, {
      extra: { role: member.role },
    })
  }
  return member as MemberRole & { role: 'owner' | 'admin' }
}

export function requireOwner(principal: Pick<Principal, 'kind' | 'member'>): void {
  const member = principal.kind === 'session' ? principal.member : undefined
  if (member === undefined) {
    throw new AppError('session_required', 'Only an owner’s session can do this.')
  }
  if (member.role !== 'owner') {
    throw new AppError('role_forbids', 'Only an owner can do this.', {
      extra: { role: member.role },
    })
  }
}
