import type { Role } from '../auth/roles.ts'
import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import type { MemberRepository } from '../storage/members.ts'
import type { SsoRepository } from '../storage/sso.ts'
import type { SsoMembers } from './members.ts'

/**
 * Roles single sign-on may give people it signs in for the first time: never `owner`, which
 * only an owner hands to someone they know.
 */
export const SSO_DEFAULT_ROLES = ['admin', 'developer', 'viewer'] as const satisfies Role[]

/** The organization's people as single sign-on sees them: memberships and accounts. */
export function createSsoMembers({
  accounts,
  members,
  sso,
}: {
  accounts: Pick<AccountRepository, 'getUser' | 'findUserByEmail'>
  members: Pick<MemberRepository, 'get' | 'touchSignIn'>
  sso: Pick<SsoRepository, 'createPerson'>
}): SsoMembers {
  return {
    roles: SSO_DEFAULT_ROLES,
    async roleOf(tenantId, userId) {
      const membership = await members.get(tenantId, userId)
      if (membership) return membership.role
      // A user of an earlier release, not migrated yet, owns its one organization.
      const user = await accounts.getUser(userId)
      return user?.tenantId === tenantId ? user.role : undefined
    },
    findUserByEmail: (email) => accounts.findUserByEmail(email),
    signedIn: (tenantId, userId, at) => members.touchSignIn(tenantId, userId, at),
    async provision({ tenantId, email, role, at }) {
      const userId = newId('usr')
      const created = await sso.createPerson({
        user: { userId, email, createdAt: at.toISOString() },
        membership: {
          tenantId,
          userId,
          email,
          role: role as Role,
          joinedAt: at.toISOString(),
          signInMethod: 'sso',
        },
      })
      if (!created) {
        throw new AppError(
          'conflict',
          'This e-mail address was claimed at the same moment; try again.',
        )
      }
      return userId
    },
  }
}
