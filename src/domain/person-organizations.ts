import { AppError } from '../errors.ts'
import type { AccountRepository, UserRecord } from '../storage/accounts.ts'
import type { MemberRepository } from '../storage/members.ts'

/** The organizations a person belongs to, and which one a sign-in opens. */
export function personOrganizations({
  accounts,
  members,
}: {
  accounts: Pick<AccountRepository, 'getOrganization'>
  members: Pick<MemberRepository, 'organizationsOf'>
}) {
  /**
   * Their organizations' ids, oldest membership first; a user of an earlier release that
   * `npm run migrate` has not reached yet still names the one they own.
   */
  async function organizationsOf(user: UserRecord): Promise<string[]> {
    const ids = (await members.organizationsOf(user.userId)).map((m) => m.tenantId)
    if (user.tenantId && !ids.includes(user.tenantId)) ids.push(user.tenantId)
    return ids
  }

  /** The organization a sign-in opens: the one asked for, else the oldest that still exists. */
  async function organizationToOpen(user: UserRecord, wanted: string | undefined) {
    const ids = await organizationsOf(user)
    for (const tenantId of wanted === undefined ? ids : ids.filter((id) => id === wanted)) {
      const organization = await accounts.getOrganization(tenantId)
      if (organization && !organization.deletedAt) return organization
    }
    if (wanted !== undefined) {
      throw new AppError('not_found', 'You are not a member of that organization.')
    }
    throw new AppError('invalid_credentials', 'The e-mail address or the password is wrong.')
  }

  return { organizationsOf, organizationToOpen }
}
