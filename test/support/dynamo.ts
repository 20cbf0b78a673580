import { randomUUID } from 'node:crypto'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { inject } from 'vitest'
import { migrateTable } from '../../src/storage/migrations/index.ts'
import { createLocalDynamoClient } from '../../tools/dynamodb-local.ts'

export interface TestTable {
  client: DynamoDBClient
  doc: DynamoDBDocumentClient
  tableName: string
  endpoint: string
}

/**
 * A fresh table with Keystash's schema in the run's shared DynamoDB Local. Its name is unique,
 * so test files (and tests within a file) never see each other's items.
 */
export async function createTestTable(): Promise<TestTable> {
  const endpoint = inject('dynamodbEndpoint')
  const client = createLocalDynamoClient(endpoint)
  const tableName = `keystash-test-${randomUUID()}`
  const doc = DynamoDBDocumentClient.from(client)
  // The same path as `npm run migrate`, so tests run on the current shape.
  await migrateTable({ dynamodb: client, doc, table: tableName, log: () => {} })
  return { client, doc, tableName, endpoint }
}
