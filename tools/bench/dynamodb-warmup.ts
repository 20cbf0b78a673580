import {
  BatchGetItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb'
import { runClosedLoop } from './closed-loop.ts'

const pk = { S: 'BENCH#warm-up' }
const sk = (i: number) => ({ S: `ITEM#${i}` })

/**
 * DynamoDB Local's JIT compiles each operation's handler as it gets hot: the floor's GetItem
 * warm-up leaves BatchGetItem and Query (the server's reads) cold. Measured here, GetItem's CPU
 * per call fell about threefold over its first 20-30 s of load, and a cold Query took several
 * times as long as a warm one. Calling them from this process, without a server or KMS in the
 * way, gets through those first calls quickly.
 */
export async function warmDynamoDbReads(
  client: DynamoDBClient,
  table: string,
  seconds: number,
): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await client.send(new PutItemCommand({ TableName: table, Item: { pk, sk: sk(i) } }))
  }
  const keys = [0, 1, 2].map((i) => ({ pk, sk: sk(i) }))
  let turn = 0
  const read = () =>
    turn++ % 2 === 0
      ? client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys } } }))
      : client.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': pk, ':prefix': { S: 'ITEM#' } },
          }),
        )
  await runClosedLoop(read, { concurrency: 32, seconds, warmupSeconds: 0 })
}
