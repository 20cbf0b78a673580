import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import type { Clock } from '../auth/clock.ts'
import type { Principal } from '../auth/principal.ts'
import { requireScope } from '../auth/scopes.ts'
import type { Config, Environment } from '../config.ts'
import { AppError } from '../errors.ts'
import { checkSettingAllowed } from '../mock/resolve-mode.ts'
import type { AccountRepository, MockSetting, OrganizationRecord } from '../storage/accounts.ts'

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
  config,
  onChanged,
}: {
  accounts: AccountRepository
  clock: Clock
  config: Pick<Config, 'mockGuardrails'>
  /** Drops cached token status (which carries the organization) on this instance. */
  onChanged: (tenantId: string) => void
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
     * Changes the name or the per-environment mock defaults. A default that a server guardrail
     * forbids is refused, naming the guardrail.
     */
    async update(
      principal: Principal,
      changes: { name?: string; mockDefaults?: Partial<Record<Environment, MockSetting>> },
    ) {
      requireScope(principal, 'org:admin')
      const org = await load(principal)
      const mockDefaults = changes.mockDefaults ? { ...org.mockDefaults } : undefined
      for (const [environment, setting] of Object.entries(changes.mockDefaults ?? {}) as [
        Environment,
        MockSetting,
      ][]) {
        checkSettingAllowed(config.mockGuardrails, environment, setting)
        if (mockDefaults) mockDefaults[environment] = setting
      }
      try {
        const updated = await accounts.updateOrganization(
          principal.tenantId,
          {
            ...(changes.name ? { name: changes.name } : {}),
            ...(mockDefaults ? { mockDefaults } : {}),
          },
          new Date(clock.now()),
        )
        onChanged(principal.tenantId)
        return updated
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException)
          throw new AppError('not_found', 'No such organization.')
        throw error
      }
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
      onChanged(principal.tenantId)
    },
  }
}

export type OrganizationService = ReturnType<typeof createOrganizationService>
