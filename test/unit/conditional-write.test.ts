import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb'
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it } from 'vitest'
import { sendConditional, writeIf } from '../../src/storage/conditional-write.ts'

/** A client whose every write fails with `error`: cancellations DynamoDB Local cannot be made to give on cue. */
const failingWith = (error: Error) =>
  ({ send: () => Promise.reject(error) }) as unknown as DynamoDBDocumentClient

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  })

const transaction = new TransactWriteCommand({ TransactItems: [] })

describe('conditional writes refused by DynamoDB', () => {
  it('count a single item’s failed condition as item 0', async () => {
    const error = new ConditionalCheckFailedException({ message: 'failed', $metadata: {} })
    expect(await sendConditional(failingWith(error), transaction, ({ failed }) => failed)).toEqual([
      0,
    ])
  })

  it('name the failed items of a cancelled transaction', async () => {
    const doc = failingWith(cancelled('None', 'ConditionalCheckFailed', 'None'))
    expect(await sendConditional(doc, transaction, ({ failed }) => failed)).toEqual([1])
  })

  it('rethrow a transaction cancelled for another reason, unless any cancellation counts', async () => {
    const conflict = cancelled('TransactionConflict', 'None')
    await expect(writeIf(failingWith(conflict), transaction)).rejects.toBe(conflict)
    expect(await writeIf(failingWith(conflict), transaction, { anyCancellation: true })).toBe(false)
    expect(
      await sendConditional(failingWith(conflict), transaction, ({ failed }) => failed, {
        anyCancellation: true,
      }),
    ).toEqual([])
  })

  it('rethrow every other error', async () => {
    const outage = Object.assign(new Error('down'), { name: 'InternalServerError' })
    await expect(writeIf(failingWith(outage), transaction, { anyCancellation: true })).rejects.toBe(
      outage,
    )
  })
})
