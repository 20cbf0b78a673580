import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb'
import { writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'
import { queryPages } from './query-pages.ts'

/**
 * One pending reminder per organization (`ORG#<id>` / `KEKREMIND`): raw key material whose
 * period ends at `replaceBy`, to be announced from `remindFrom`. It sits in the sparse index
 * `gsi1` under `KEKREMIND`, sorted by `remindFrom`. Announcing it deletes it, on condition that
 * it is still the one read, so of N instances ticking together exactly one announces it.
 */
const REMIND_INDEX = 'KEKREMIND'

export interface KekReminder {
  tenantId: string
  kekVersion: number
  remindFrom: string
  replaceBy: string
}

export function kekReminderItem(reminder: KekReminder) {
  return {
    ...itemKey.kekReminder(reminder.tenantId),
    type: 'kek-reminder',
    ...reminder,
    gsi1pk: REMIND_INDEX,
    gsi1sk: `${reminder.remindFrom}#${reminder.tenantId}`,
  }
}

export function createKekReminderStore({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async put(reminder: KekReminder): Promise<void> {
      await doc.send(new PutCommand({ TableName: table, Item: kekReminderItem(reminder) }))
    },

    async remove(tenantId: string): Promise<void> {
      await doc.send(new DeleteCommand({ TableName: table, Key: itemKey.kekReminder(tenantId) }))
    },

    /** Reminders whose time has come at `now` (ISO). The index lags: a hint, not a lock. */
    async listDue(now: string): Promise<KekReminder[]> {
      const out: KekReminder[] = []
      const pages = queryPages(doc, {
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :remind AND gsi1sk < :bound',
        ExpressionAttributeValues: { ':remind': REMIND_INDEX, ':bound': `${now}~` },
      })
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          const { tenantId, kekVersion, remindFrom, replaceBy } = item as KekReminder
          out.push({ tenantId, kekVersion, remindFrom, replaceBy })
        }
      }
      return out
    },

    /** Deletes the reminder if it is still `seen`: true for exactly one caller. */
    async take(seen: KekReminder): Promise<boolean> {
      return writeIf(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: itemKey.kekReminder(seen.tenantId),
          ConditionExpression: 'kekVersion = :version AND remindFrom = :from',
          ExpressionAttributeValues: { ':version': seen.kekVersion, ':from': seen.remindFrom },
        }),
      )
    },
  }
}

export type KekReminderStore = ReturnType<typeof createKekReminderStore>
