import type { AuditSink } from '../jobs/reencrypt.ts'
import type { KekRecord } from '../kms/kek-records.ts'
import type { TenantKekResolver } from '../kms/tenant-keks.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { KekReminderStore } from '../storage/kek-reminders.ts'
import { rawMaterialPeriod } from './kek-rotation.ts'

/**
 * Reminds an organization that uses raw key material to supply new material before the
 * material's period ends (kek-rotation.ts): once per material and period, as the event
 * `encryption.rotation_due` (today in the audit trail; the same name goes to webhooks).
 */
export const ROTATION_DUE_EVENT = 'encryption.rotation_due'

export interface RawRemindersDeps {
  reminders: KekReminderStore
  keks: Pick<TenantKekResolver, 'records'>
  clock: Clock
  logger: Logger
  audit?: AuditSink
}

export function createRawReminders(deps: RawRemindersDeps) {
  const { reminders, clock } = deps
  return {
    /**
     * Files (or withdraws) the reminder for the tenant's active KEK: called whenever the KEK or
     * the period changes.
     */
    async track(active: KekRecord, periodDays: number): Promise<void> {
      const period =
        active.provider === 'raw' ? rawMaterialPeriod(active.createdAt, periodDays) : undefined
      if (!period) return reminders.remove(active.tenantId)
      return reminders.put({ tenantId: active.tenantId, kekVersion: active.version, ...period })
    },

    /** Announces every reminder whose time has come; safe on any number of instances. */
    async remindDue(): Promise<number> {
      let sent = 0
      for (const due of await reminders.listDue(new Date(clock.now()).toISOString())) {
        try {
          if (!(await reminders.take(due))) continue
          // Material replaced since the reminder was filed: nothing to say about the old one.
          const records = await deps.keks.records(due.tenantId, { fresh: true })
          const active = records.find((r) => r.status === 'active')
          if (active?.provider !== 'raw' || active.version !== due.kekVersion) continue
          await deps.audit?.record({
            tenantId: due.tenantId,
            action: ROTATION_DUE_EVENT,
            actor: { type: 'system', id: null, name: 'scheduler' },
            target: { type: 'encryption', id: due.tenantId },
            outcome: { result: 'success' },
            details: { kekVersion: due.kekVersion, keyId: active.keyId, replaceBy: due.replaceBy },
          })
          sent++
        } catch (error) {
          deps.logger.warn(
            { tenantId: due.tenantId, error: (error as Error).message },
            'raw key material reminder not sent',
          )
        }
      }
      return sent
    },
  }
}

export type RawReminders = ReturnType<typeof createRawReminders>
