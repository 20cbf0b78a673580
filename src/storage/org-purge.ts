import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { type ItemKey, itemKey } from './keys.ts'
import { queryPages } from './query-pages.ts'

/** BatchWriteItem takes at most 25 requests. */
const BATCH = 25
const MAX_UNPROCESSED_TRIES = 8

export interface OrgPurgeOptions {
  doc: DynamoDBDocumentClient
  table: string
  /** Items read per Query page; each page is deleted before the next is read. */
  pageSize?: number
}

/**
 * Erases everything a deleted organization kept in its partition (`ORG#<tenantId>`): key
 * records and their sealed versions, KEK records (raw material wrapped by the platform key),
 * re-encryption jobs (which leave the `KEKJOBS` index with their item) and tokens. The `ORG`
 * item stays as the tombstone that keeps the id from being reused and tells callers the
 * organization is gone. The audit trail lives in `AUDIT#<tenantId>` and is not touched: it has
 * its own retention.
 *
 * Idempotent: a purge interrupted anywhere is finished by running it again.
 */
export function createOrgPurge({ doc, table, pageSize = 100 }: OrgPurgeOptions) {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error('pageSize must be 1 or more')

  async function deleteBatch(keys: ItemKey[]): Promise<void> {
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }))
    // Under throttling DynamoDB hands some deletions back; ask again for those, backing off.
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_UNPROCESSED_TRIES)
        throw new Error('BatchWriteItem left deletions unprocessed after retries')
      if (attempt > 0) {
        const backoff = Math.min(1000, 25 * 2 ** attempt)
        await new Promise((resolve) => setTimeout(resolve, backoff / 2 + Math.random() * backoff))
      }
      const result = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }))
      pending = (result.UnprocessedItems?.[table] ?? []) as typeof pending
    }
  }

  return {
    /** Deletes every item of the tenant's partition but the `ORG` tombstone. */
    async purgePartition(tenantId: string): Promise<{ deleted: number }> {
      const tombstone = itemKey.org(tenantId)
      let deleted = 0
      // Only the keys are read: the sealed values never leave DynamoDB for this. Each page is
      // deleted before the next is read; its start key may name an item just deleted, and
      // DynamoDB resumes after it all the same.
      const pages = queryPages(
        doc,
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': tombstone.pk },
          ProjectionExpression: 'pk, sk',
          ConsistentRead: true,
        },
        pageSize,
      )
      for await (const page of pages) {
        const keys = (page.Items ?? [])
          .map((item) => ({ pk: String(item.pk), sk: String(item.sk) }))
          .filter((key) => key.sk !== tombstone.sk)
        for (let i = 0; i < keys.length; i += BATCH) {
          await deleteBatch(keys.slice(i, i + BATCH))
          deleted += Math.min(BATCH, keys.length - i)
        }
      }
      return { deleted }
    },
  }
}

export type OrgPurge = ReturnType<typeof createOrgPurge>
