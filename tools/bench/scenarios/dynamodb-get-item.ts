import { randomBytes, randomUUID } from 'node:crypto'
import { Agent } from 'node:http'
import {
  DeleteTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb'
import { ensureTable } from '../../../src/storage/table.ts'
import { createLocalDynamoClient } from '../../dynamodb-local.ts'
import { runClosedLoop } from '../closed-loop.ts'
import type { BenchContext, Scenario } from '../scenario.ts'

// Shaped like a sealed key version: a KMS-wrapped data key, an IV and a short ciphertext.
const key = { pk: { S: 'ORG#bench' }, sk: { S: 'KEY#bench#V#000000001' } }
const item = {
  ...key,
  formatVersion: { N: '1' },
  algorithm: { S: 'AES-256-GCM' },
  kek: { S: 'local:alias/keystash-platform:1' },
  wrappedDek: { B: randomBytes(184) },
  iv: { B: randomBytes(12) },
  ciphertext: { B: randomBytes(80) },
}

export function createDynamoGetItemScenario(): Scenario {
  let context: BenchContext | undefined
  let client: DynamoDBClient | undefined
  const tableName = `bench-${randomUUID()}`
  const getItem = () => {
    if (!client) throw new Error('dynamodb-getitem: run() before setup()')
    return client.send(new GetItemCommand({ TableName: tableName, Key: key }))
  }
  return {
    name: 'dynamodb-getitem',
    description: 'GetItem of one pre-seeded item, plain DynamoDBClient (keep-alive), closed loop',
    baseline: 'floor',
    async setup(benchContext) {
      context = benchContext
      client = createLocalDynamoClient(await benchContext.dynamodbEndpoint(), {
        // One socket per worker, reused: the app's client keeps connections alive too.
        requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) },
      })
      await ensureTable(client, tableName)
      await client.send(new PutItemCommand({ TableName: tableName, Item: item }))
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key }))
      if (!Item) throw new Error('dynamodb-getitem: the seeded item cannot be read back')
      // A JVM started a moment ago is still compiling its hot paths, which the first measurement
      // would pay for: warm it once, well past the per-measurement warm-up. Measured here, its
      // CPU per GetItem falls about threefold over the first 20-30 s of load; a floor measured
      // colder than the scenarios after it would flatter their "x of floor".
      const seconds = Math.max(15, benchContext.warmupSeconds)
      await runClosedLoop(getItem, { concurrency: 32, seconds, warmupSeconds: 0 })
    },
    run(concurrency) {
      if (!context) throw new Error('dynamodb-getitem: run() before setup()')
      const { seconds, warmupSeconds } = context
      const probes = [context.cpuProbe()]
      return runClosedLoop(getItem, { concurrency, seconds, warmupSeconds, probes })
    },
    async teardown() {
      await client?.send(new DeleteTableCommand({ TableName: tableName }))
      client?.destroy()
    },
  }
}
