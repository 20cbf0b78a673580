import { randomUUID } from 'node:crypto'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { inject } from 'vitest'
import { type Migration, migrateTable, migrations } from '../../src/storage/migrations/index.ts'
import { createLocalDynamoClient } from '../../tools/dynamodb-local.ts'

export interface TestTable {
  client: DynamoDBClient
  doc: DynamoDBDocumentClient
  tableName: string
  endpoint: string
}

/**
 * A fresh table with Keystash's schema in the run's shared DynamoDB Local. Its name is unique,
 * so test files (and tests within a file) never see each other's items. `steps` limits the
 * migrations it goes through: a table for an earlier release has had only the steps that
 * release knew (the first), so `migrate` still has the others to apply once that release
 * has written to it.
 */
export async function createTestTable({
  steps,
  asPreviousRelease = false,
}: {
  /**
   * The migration steps to bring it up with (default: all). A table for the previous release
   * to write gets only that release's steps, so later backfills still find work to do.
   */
  steps?: readonly Migration[]
  /** Only the always-checked shape steps, as the previous release left its tables. */
  asPreviousRelease?: boolean
} = {}): Promise<TestTable> {
  const endpoint = inject('dynamodbEndpoint')
  const client = createLocalDynamoClient(endpoint)
  const tableName = `keystash-test-${randomUUID()}`
  const doc = DynamoDBDocumentClient.from(client)
  // The same path as `npm run migrate`, so tests run on the current shape.
  await migrateTable(
    { dynamodb: client, doc, table: tableName, log: () => {} },
    asPreviousRelease
      ? { steps: migrations.filter((step) => step.always) }
      : steps
        ? { steps }
        : {},
  )
  return { client, doc, tableName, endpoint }
}
