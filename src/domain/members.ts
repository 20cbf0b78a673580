import type { Principal } from '../auth/principal.ts'
import { mayManageMember, type Role, requireMemberManager, requireOwner } from '../auth/roles.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import {
  type MemberRepository,
  type MembershipRecord,
  memberRoleOf,
  type SignInMethod,
} from '../storage/members.ts'
import type { MemberTokens } from './member-tokens.ts'
import type { MemberWebhooks } from './member-webhooks.ts'

export interface MemberServiceDeps {
  members: MemberRepository
  memberTokens: MemberTokens
  memberWebhooks: MemberWebhooks
  clock: Clock
  /** Drops cached token status on this instance, so a change is seen at once here. */
  onChanged: (tenantId: string) => void
}

/** What callers see of a member. */
export function describeMember(record: MembershipRecord) {
  return {
    userId: record.userId,
    email: record.email,
    role: record.role,
    joinedAt: record.joinedAt,
    lastSignInAt: record.lastSignInAt ?? null,
    signInMethod: record.signInMethod,
    productionReveal: record.productionReveal
      ? {
          grantedBy: record.productionReveal.grantedBy,
          grantedAt: record.productionReveal.grantedAt,
        }
      : null,
  }
}

const noSuchMember = () => new AppError('not_found', 'No such member.')

/**
 * The people of an organization and their roles. Every change is read by the authenticator
 * with each session's status, so it holds at once on this instance and within the record
 * cache's bound on the others; the tokens a person minted follow their role (member-tokens.ts).
 */
export function createMemberService({
  members,
  memberTokens,
  memberWebhooks,
  clock,
  onChanged,
}: MemberServiceDeps) {
  /** Webhooks need an owner: those of a person who no longer is one are turned off. */
  const webhooksAfter = (tenantId: string, userId: string, role: Role | undefined) =>
    role === 'owner' ? Promise.resolve(0) : memberWebhooks.disableCreatedBy(tenantId, userId)

  function requireMember(principal: Principal) {
    if (principal.kind !== 'session' || !principal.member || !principal.userId) {
      throw new AppError('session_required', 'Only a person’s session can see the members.')
    }
    return { userId: principal.userId, ...principal.member }
  }

  async function target(principal: Principal, userId: string): Promise<MembershipRecord> {
    const record = await members.get(principal.tenantId, userId)
    if (!record) throw noSuchMember()
    return record
  }

  return {
    /**
     * Makes an existing person a member with a role (an accepted invitation, or an SSO
     * sign-in provisioning them just in time). A conflict when they already are one.
     */
    async addMember(
      tenantId: string,
      person: { userId: string; email: string; role: Role; signInMethod: SignInMethod },
    ): Promise<MembershipRecord> {
      const record: MembershipRecord = {
        tenantId,
        ...person,
        joinedAt: new Date(clock.now()).toISOString(),
      }
      await members.add(record)
      onChanged(tenantId)
      return record
    },

    async list(principal: Principal): Promise<MembershipRecord[]> {
      requireMember(principal)
      const all = await members.list(principal.tenantId)
      return all.sort((a, b) => a.joinedAt.localeCompare(b.joinedAt))
    },

    async get(principal: Principal, userId: string): Promise<MembershipRecord> {
      requireMember(principal)
      return target(principal, userId)
    },

    /**
     * Owners change anyone's role, admins those below owner to a role below owner. The
     * member's tokens are narrowed (or revoked) to the new role at once.
     */
    async changeRole(principal: Principal, userId: string, role: Role) {
      const actor = requireMemberManager(principal)
      const record = await target(principal, userId)
      if (!mayManageMember(actor.role, record.role, role)) {
        throw new AppError('role_forbids', `A ${actor.role} cannot make a ${record.role} ${role}.`)
      }
      await members.changeRole(principal.tenantId, userId, record.role, role)
      const updated = { ...record, role }
      const tokens = await memberTokens.fitToRole(principal.tenantId, userId, memberRoleOf(updated))
      const webhooksDisabled = await webhooksAfter(principal.tenantId, userId, role)
      onChanged(principal.tenantId)
      return { from: record.role, member: updated, tokens, webhooksDisabled }
    },

    /**
     * Removes a member: their sessions end at once and the access tokens they minted (with
     * every token below them) are revoked, unless `keepTokens` says the organization keeps
     * them. A member may also leave by removing themselves; the last owner cannot.
     */
    async remove(principal: Principal, userId: string, options: { keepTokens: boolean }) {
      const self = principal.kind === 'session' && principal.userId === userId
      const actor = self ? requireMember(principal) : requireMemberManager(principal)
      const record = await target(principal, userId)
      if (!self && !mayManageMember(actor.role, record.role)) {
        throw new AppError('role_forbids', `A ${actor.role} cannot remove a ${record.role}.`)
      }
      await members.remove(principal.tenantId, userId, record.role)
      onChanged(principal.tenantId)
      const sessionsEnded = await memberTokens.endSessions(principal.tenantId, userId)
      const tokensRevoked = options.keepTokens
        ? 0
        : await memberTokens.revokeAll(principal.tenantId, userId)
      const webhooksDisabled = await webhooksAfter(principal.tenantId, userId, undefined)
      onChanged(principal.tenantId)
      return { member: record, sessionsEnded, tokensRevoked, webhooksDisabled }
    },

    /** An owner hands ownership to another member and becomes an admin. */
    async transferOwnership(principal: Principal, userId: string) {
      requireOwner(principal)
      if (principal.userId === userId) {
        throw new AppError('bad_request', 'You already own this organization.')
      }
      const record = await target(principal, userId)
      if (record.role === 'owner') {
        throw new AppError('conflict', 'This member is already an owner.')
      }
      await members.transferOwnership(
        principal.tenantId,
        principal.userId ?? '',
        userId,
        record.role,
      )
      const tokens = await memberTokens.fitToRole(principal.tenantId, principal.userId ?? '', {
        role: 'admin',
        productionReveal: false,
      })
      await webhooksAfter(principal.tenantId, principal.userId ?? '', 'admin')
      onChanged(principal.tenantId)
      return { member: { ...record, role: 'owner' as const }, tokens }
    },

    /**
     * An owner's explicit grant for a member to reveal production values (it matters to
     * developers: owners and admins reveal them anyway). Withdrawing it narrows the member's
     * production tokens at once.
     */
    async setProductionReveal(principal: Principal, userId: string, granted: boolean) {
      requireOwner(principal)
      const record = await target(principal, userId)
      const grant = granted
        ? { grantedBy: principal.userId ?? '', grantedAt: new Date(clock.now()).toISOString() }
        : undefined
      const set = await members.setProductionReveal(principal.tenantId, userId, grant)
      if (!set) throw noSuchMember()
      const updated: MembershipRecord = { ...record }
      if (grant) updated.productionReveal = grant
      else delete updated.productionReveal
      const tokens = granted
        ? { narrowed: 0, revoked: 0 }
        : await memberTokens.fitToRole(principal.tenantId, userId, memberRoleOf(updated))
      onChanged(principal.tenantId)
      return { member: updated, tokens }
    },
  }
}

export type MemberService = ReturnType<typeof createMemberService>
