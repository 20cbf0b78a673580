import type { Principal } from '../auth/principal.ts'
import { requireProductionChange, requireScope } from '../auth/scopes.ts'
import type { Config, Environment } from '../config.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { checkSettingAllowed } from '../mock/resolve-mode.ts'
import type { AccountRepository, MockSetting, OrganizationRecord } from '../storage/accounts.ts'
import type { MemberRepository } from '../storage/members.ts'
import type { OrgPurge } from '../storage/org-purge.ts'

const PURGE_ATTEMPTS = 3
/** How long a request authenticated just before the deletion may still take to write. */
const SLOW_REQUEST_MARGIN_MS = 1000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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
  members,
  purge,
  clock,
  config,
  logger,
  onChanged,
}: {
  accounts: AccountRepository
  members: Pick<MemberRepository, 'list' | 'organizationsOf' | 'removePointer'>
  purge: Pick<OrgPurge, 'purgePartition'>
  clock: Clock
  config: Pick<Config, 'mockGuardrails' | 'cache'>
  logger: Logger
  /** Drops cached token status (which carries the organization) on this instance. */
  onChanged: (tenantId: string) => void
}) {
  async function load(principal: Principal) {
    const org = await accounts.getOrganization(principal.tenantId)
    if (!org || org.deletedAt) throw new AppError('not_found', 'No such organization.')
    return org
  }

  /**
   * The owner cannot come back to finish an erasure: the authenticator and login refuse every
   * token of an organization marked deleted. So the purge (idempotent) is retried here, a few
   * times; one that still fails is logged with the tenant id, and running
   * `createOrgPurge(...).purgePartition(tenantId)` again finishes it.
   */
  async function purgeWithRetries(tenantId: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await purge.purgePartition(tenantId)).deleted
      } catch (error) {
        const fields = { tenantId, attempt, error: (error as Error).message }
        if (attempt >= PURGE_ATTEMPTS) {
          logger.error(fields, 'organization deleted but its data not erased')
          throw new AppError(
            'storage_unavailable',
            'The organization is deleted, but erasing its stored data did not finish. The server log names it so an operator can finish the erasure.',
            { cause: error },
          )
        }
        logger.warn(fields, 'erasing a deleted organization failed; retrying')
        await sleep(200 * 2 ** attempt)
      }
    }
  }

  /**
   * The organization's people leave it; those who belong to no other organization are
   * removed with their e-mail claim, so the address can sign up again. Idempotent, like the
   * purge: the memberships it reads are erased only after it.
   */
  async function releasePeople(tenantId: string): Promise<number> {
    let removed = 0
    for (const member of await members.list(tenantId)) {
      await members.removePointer(member.userId, tenantId)
      if ((await members.organizationsOf(member.userId)).length > 0) continue
      await accounts.deleteUser({ userId: member.userId, email: member.email })
      removed++
    }
    return removed
  }

  async function erase(tenantId: string, markedAt: number): Promise<void> {
    const peopleRemoved = await releasePeople(tenantId)
    if (peopleRemoved > 0)
      logger.info({ tenantId, peopleRemoved }, 'people of a deleted organization removed')
    let deleted = await purgeWithRetries(tenantId)
    // Another instance may serve this tenant's token status from memory for the staleness
    // bound after the mark, and let a request write a key after the first sweep went past it.
    // A second sweep, once no such request can still be running, erases those late writes.
    const settleMs = config.cache.recordStalenessMs + SLOW_REQUEST_MARGIN_MS
    const wait = Math.min(settleMs, markedAt + settleMs - clock.now())
    if (wait > 0) await sleep(wait)
    deleted += await purgeWithRetries(tenantId)
    logger.info({ tenantId, deleted }, 'deleted organization erased')
  }

  return {
    async get(principal: Principal) {
      requireScope(principal, 'org:read')
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
      if (changes.name !== undefined) requireScope(principal, 'org:write')
      if (changes.mockDefaults !== undefined) {
        requireScope(principal, 'mock:write')
        requireProductionChange(principal, 'mock settings')
      }
      if (changes.name === undefined && changes.mockDefaults === undefined) {
        requireScope(principal, 'org:write')
      }
      const org = await load(principal)
      const mockDefaults = changes.mockDefaults ? { ...org.mockDefaults } : undefined
      for (const [environment, setting] of Object.entries(changes.mockDefaults ?? {}) as [
        Environment,
        MockSetting,
      ][]) {
        checkSettingAllowed(config.mockGuardrails, environment, setting)
        if (mockDefaults) mockDefaults[environment] = setting
      }
      const updated = await accounts.updateOrganization(
        principal.tenantId,
        {
          ...(changes.name ? { name: changes.name } : {}),
          ...(mockDefaults ? { mockDefaults } : {}),
        },
        new Date(clock.now()),
      )
      // Deleted meanwhile, or never there.
      if (!updated) throw new AppError('not_found', 'No such organization.')
      onChanged(principal.tenantId)
      return updated
    },

    /**
     * Deleting an organization stops every one of its tokens at once, then erases everything in
     * its partition (keys, their sealed versions, KEK records, jobs, tokens) but the `ORG`
     * tombstone; the audit trail is kept. Only a logged-in owner can do it, not an access
     * token, however broad.
     */
    async delete(principal: Principal) {
      if (principal.kind !== 'session') {
        throw new AppError(
          'insufficient_scope',
          'Only a logged-in owner can delete the organization.',
          {
            extra: { requiredScope: 'org:write' },
          },
        )
      }
      requireScope(principal, 'org:write')
      const org = await accounts.getOrganization(principal.tenantId)
      if (!org) throw new AppError('not_found', 'No such organization.')
      // The mark comes first: it is what makes every instance refuse the tenant at once. An
      // organization already marked (a repeated delete let through by another instance's
      // status cache) has its erasure finished instead of a 404.
      const markedAt = org.deletedAt ? Date.parse(org.deletedAt) : clock.now()
      if (!org.deletedAt) {
        await accounts.markOrganizationDeleted(principal.tenantId, new Date(markedAt))
        onChanged(principal.tenantId)
      }
      await erase(principal.tenantId, markedAt)
    },
  }
}

export type OrganizationService = ReturnType<typeof createOrganizationService>
