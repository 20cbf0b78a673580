import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { epochSeconds } from './keys.ts'

/** A counter lives a day past its last use; DynamoDB then drops it. */
const TTL_MS = 86_400_000

const counterKey = (bucket: string) => ({ pk: `RATE#${bucket}`, sk: 'RATE' })

/**
 * Shared request counts of the rate-limit buckets (ratelimit/exchange.ts): one item per
 * bucket whose `used` only grows, by each instance's admissions since its last report.
 */
export function createRateCounterStore({
  doc,
  table,
  now = () => Date.now(),
}: {
  doc: DynamoDBDocumentClient
  table: string
  now?: () => number
}) {
  return {
    /** Adds `count` to the bucket's total and returns the new total. */
    async add(bucket: string, count: number): Promise<number> {
      const result = await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: counterKey(bucket),
          UpdateExpression: 'ADD #used :count SET #type = :type, #ttl = :ttl',
          ExpressionAttributeNames: { '#used': 'used', '#type': 'type', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':count': count,
            ':type': 'rateCounter',
            ':ttl': epochSeconds(new Date(now() + TTL_MS)),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      )
      return Number(result.Attributes?.used ?? 0)
    },

    /** The bucket's total, without adding to it. */
    async read(bucket: string): Promise<number> {
      const result = await doc.send(new GetCommand({ TableName: table, Key: counterKey(bucket) }))
      return Number(result.Item?.used ?? 0)
    },
  }
}

export type RateCounterStore = ReturnType<typeof createRateCounterStore>
