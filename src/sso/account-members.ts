import type { AccountRepository } from '../storage/accounts.ts'
import type { SsoMembers } from './members.ts'

/** The organization's people as single sign-on sees them, from the account records. */
export function createSsoMembers({
  accounts,
}: {
  accounts: Pick<AccountRepository, 'getUser' | 'findUserByEmail'>
}): SsoMembers {
  return {
    roles: ['owner'],
    async roleOf(tenantId, userId) {
      const user = await accounts.getUser(userId)
      return user?.tenantId === tenantId ? user.role : undefined
    },
    findUserByEmail: (email) => accounts.findUserByEmail(email),
    async provision() {
      throw new Error('provisioning needs organization memberships')
    },
  }
}
