import { planReminders, type ReminderSubject } from '../domain/reminders.ts'
import { newEvent } from '../events/new-event.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { DueIndex } from '../storage/due-index.ts'

export interface ReminderSchedulerOptions {
  index: DueIndex
  clock: Clock
  logger: Logger
  unusedAfterDays: number
  /** Told when reminders were queued, so the delivery worker sends them soon. */
  onEvents: () => void
  batchSize?: number
}

/**
 * Fires expiry, replacement and unused reminders for keys and access tokens. It reads only
 * what is due from the index of due dates, and settles each item with a conditional write
 * that carries the events (storage/due-index.ts): with several instances polling, each
 * reminder still fires once, and one that was due while every instance was down fires on the
 * first pass after a restart.
 */
export function createReminderScheduler({
  index,
  clock,
  logger,
  unusedAfterDays,
  onEvents,
  batchSize = 50,
}: ReminderSchedulerOptions) {
  async function settle(item: Record<string, unknown>): Promise<number> {
    const subject = toSubject(item)
    if (!subject) return 0
    const now = clock.now()
    const plan = planReminders(subject, now, { unusedAfterDays })
    const tenantId = item.tenantId as string
    const events = plan.fire.map((r) => newEvent(tenantId, r.type, r.data, now))
    const settled = await index.settle(item, plan, events)
    return settled ? events.length : 0
  }

  /** One pass over what is due now; returns how many reminders it fired. */
  async function pass(): Promise<number> {
    let fired = 0
    for (let round = 0; round < 20; round++) {
      const due = await index.due(new Date(clock.now()).toISOString(), batchSize)
      for (const item of due) {
        fired += await settle(item).catch((error: unknown) => {
          logger.error(
            { item: String(item.sk).split('#')[0], error: (error as Error).message },
            'reminder failed',
          )
          return 0
        })
      }
      if (due.length < batchSize) break
    }
    if (fired > 0) onEvents()
    return fired
  }

  return { pass }
}

function toSubject(item: Record<string, unknown>): ReminderSubject | undefined {
  const common = {
    createdAt: item.createdAt as string,
    ...(typeof item.expiresAt === 'string' ? { expiresAt: item.expiresAt } : {}),
    ...(typeof item.lastUsedAt === 'string' ? { lastUsedAt: item.lastUsedAt } : {}),
    ...(Array.isArray(item.remindersSent) ? { remindersSent: item.remindersSent as string[] } : {}),
  }
  if (item.type === 'key') {
    return {
      kind: 'key',
      id: item.keyId as string,
      name: item.name as string,
      ...common,
      ...(typeof item.rotationDueAt === 'string' ? { rotationDueAt: item.rotationDueAt } : {}),
      ...(typeof item.rotateEveryDays === 'number'
        ? { rotateEveryDays: item.rotateEveryDays }
        : {}),
    }
  }
  if (item.type === 'token' && item.kind === 'access') {
    return {
      kind: 'token',
      id: item.tokenId as string,
      name: (item.name as string | undefined) ?? null,
      ...common,
      ...(typeof item.revokedAt === 'string' ? { revokedAt: item.revokedAt } : {}),
    }
  }
  return undefined
}
