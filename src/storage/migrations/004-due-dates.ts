import { paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { writeIf } from '../conditional-write.ts'
import { dueAttributes } from '../due-index.ts'
import type { Migration } from './index.ts'

/**
 * Keys and access tokens stored before reminders existed get their place in the index of due
 * dates (`gsi1` under `DUE`, storage/due-index.ts), marked due at once: the scheduler's first
 * pass works out each one's real next date (under this server's settings, such as
 * KEYSTASH_UNUSED_AFTER_DAYS) and fires what is already due, once. Revoked and expired tokens
 * have nothing to be reminded of and are left out. The index itself is the table's `gsi1`,
 * which every release has had. Idempotent: an item already in the index is not touched.
 */
export const dueDates: Migration = {
  id: '004-due-dates',
  description: 'put existing keys and access tokens in the index of due dates (reminders)',
  async run(ctx) {
    const now = new Date().toISOString()
    let added = 0
    let seen = 0
    const pages = paginateScan(
      { client: ctx.doc, pageSize: 200 },
      {
        TableName: ctx.table,
        FilterExpression:
          'attribute_not_exists(gsi1pk) AND ((#type = :key AND begins_with(sk, :keyPrefix)) OR (#type = :token AND kind = :access AND attribute_not_exists(revokedAt) AND expiresAt > :now))',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':key': 'key',
          ':keyPrefix': 'KEY#',
          ':token': 'token',
          ':access': 'access',
          ':now': now,
        },
        ProjectionExpression: 'pk, sk',
      },
    )
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        seen++
        const key = { pk: item.pk as string, sk: item.sk as string }
        const due = dueAttributes(now, key)
        const written = await writeIf(
          ctx.doc,
          new UpdateCommand({
            TableName: ctx.table,
            Key: key,
            UpdateExpression: 'SET gsi1pk = :pk, gsi1sk = :sk',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(gsi1pk)',
            ExpressionAttributeValues: { ':pk': due.gsi1pk, ':sk': due.gsi1sk },
          }),
        )
        // Refused: deleted meanwhile, or written by the new code already: nothing to do.
        if (written) added++
      }
    }
    return `${added} of ${seen} keys and access tokens put in the index of due dates`
  },
}
