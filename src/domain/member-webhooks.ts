import type { Clock } from '../lib/clock.ts'
import type { WebhookRepository } from '../storage/webhooks.ts'

/**
 * Webhook endpoints are a lasting flow of the organization's events, created by an owner: one
 * whose creator leaves the organization or stops being an owner is turned off
 * (`disabledReason: creator_left`) until an owner turns it on again, which makes it theirs to
 * answer for.
 */
export function createMemberWebhooks({
  webhooks,
  clock,
}: {
  webhooks: Pick<WebhookRepository, 'list' | 'update'>
  clock: Clock
}) {
  return {
    /** Turns off the enabled endpoints the person created; says how many. */
    async disableCreatedBy(tenantId: string, userId: string): Promise<number> {
      const now = new Date(clock.now()).toISOString()
      let disabled = 0
      for (const hook of await webhooks.list(tenantId)) {
        if (!hook.enabled || hook.createdBy.id !== userId) continue
        const changes = { enabled: false, disabledReason: 'creator_left' as const }
        if (await webhooks.update(tenantId, hook.webhookId, changes, now)) disabled++
      }
      return disabled
    },
  }
}

export type MemberWebhooks = ReturnType<typeof createMemberWebhooks>
