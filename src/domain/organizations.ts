import type { Clock } from '../auth/clock.ts'
import type { Principal } from '../auth/principal.ts'
import { requireScope } from '../auth/scopes.ts'
import { AppError } from '../errors.ts'
import type { AccountRepository, OrganizationRecord } from '../storage/accounts.ts'

export function describeOrganization(org: OrganizationRecord) {
  return {
    id: org.tenantId,
    name: org.name,
    createdAt: org.createdAt,
    updatedAt: org.updatedAt,
    mockDefaults: org.mockDefaults,
  }
}

/** The caller's own organization (tenant); there is no way to name another one. */
export function createOrganizationService({
  accounts,
  clock,
  onDeleted,
}: {
  accounts: AccountRepository
  clock: Clock
  /** Drops cached token status on this instance, so the deletion is felt at once. */
  onDeleted: (tenantId: string) => void
}) {
  async function load(principal: Principal) {
    const org = await accounts.getOrganization(principal.tenantId)
    if (!org || org.deletedAt) throw new AppError('not_found', 'No such organization.')
    return org
  }
  return {
    async get(principal: Principal) {
      requireScope(principal, 'org:admin')
      return load(principal)
    },

    /**
     * Deleting an organization stops every one of its tokens at once. Only a logged-in owner
     * can do it, not an access token, however broad.
     */
    async delete(principal: Principal) {
      requireScope(principal, 'org:admin')
      if (principal.kind !== 'session') {
        throw new AppError(
          'insufficient_scope',
          'Only a logged-in owner can delete the organization.',
          {
            extra: { requiredScope: 'org:admin' },
          },
        )
      }
      await load(principal)
      await accounts.markOrganizationDeleted(principal.tenantId, new Date(clock.now()))
      onDeleted(principal.tenantId)
    },
  }
}

export type OrganizationService = ReturnType<typeof createOrganizationService>
