import { PutCommand, paginateScan } from '@aws-sdk/lib-dynamodb'
import { rawMaterialPeriod } from '../../domain/kek-rotation.ts'
import { writeIf } from '../conditional-write.ts'
import { kekReminderItem } from '../kek-reminders.ts'
import { itemKey } from '../keys.ts'
import { queryPages } from '../query-pages.ts'
import { DEFAULT_REKEY_PERIOD_DAYS, initialSchedule, rekeyScheduleItem } from '../rekey-schedule.ts'
import type { Migration, MigrationContext } from './index.ts'

/**
 * Re-keying finds organizations through their schedule item in the due-date index, which
 * sign-up now writes: this gives every organization from before one (the default period,
 * counted from its creation, so one whose data keys are already a period old is due at once).
 * An organization whose active KEK is raw material also gets its reminder filed. Puts are
 * conditional on the item being absent, so a re-run (or a concurrent sign-up) changes nothing.
 */
export const rekeySchedules: Migration = {
  id: '003-rekey-schedules',
  description: 'give every organization a re-keying schedule, and raw key material its reminder',
  async run(ctx) {
    let scheduled = 0
    let reminders = 0
    const pages = paginateScan(
      { client: ctx.doc },
      {
        TableName: ctx.table,
        FilterExpression: 'sk = :org AND attribute_not_exists(deletedAt)',
        ExpressionAttributeValues: { ':org': 'ORG' },
        ProjectionExpression: 'tenantId, createdAt',
      },
    )
    for await (const page of pages) {
      for (const org of page.Items ?? []) {
        const tenantId = String(org.tenantId)
        const schedule = initialSchedule(tenantId, String(org.createdAt))
        if (await putIfAbsent(ctx, rekeyScheduleItem(schedule))) scheduled++
        if (await fileRawReminder(ctx, tenantId)) reminders++
      }
    }
    return `${scheduled} re-keying schedule(s) and ${reminders} raw material reminder(s) added`
  },
}

async function fileRawReminder(ctx: MigrationContext, tenantId: string): Promise<boolean> {
  const keks = queryPages(ctx.doc, {
    TableName: ctx.table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    FilterExpression: '#status = :active AND provider = :raw',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':pk': itemKey.org(tenantId).pk,
      ':prefix': 'KEK#',
      ':active': 'active',
      ':raw': 'raw',
    },
    ConsistentRead: true,
  })
  for await (const page of keks) {
    for (const kek of page.Items ?? []) {
      const period = rawMaterialPeriod(String(kek.createdAt), DEFAULT_REKEY_PERIOD_DAYS)
      if (!period) continue
      return putIfAbsent(
        ctx,
        kekReminderItem({ tenantId, kekVersion: Number(kek.version), ...period }),
      )
    }
  }
  return false
}

const putIfAbsent = (ctx: MigrationContext, item: Record<string, unknown>) =>
  writeIf(
    ctx.doc,
    new PutCommand({
      TableName: ctx.table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  )
