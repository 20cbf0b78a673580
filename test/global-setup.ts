import type { TestProject } from 'vitest/node'
import { startDynamoDbLocal } from '../tools/dynamodb-local.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the in-memory DynamoDB Local shared by the whole run. */
    dynamodbEndpoint: string
  }
}

/**
 * Starts one DynamoDB Local for the run (2-4 s) rather than one per file: the JVM costs
 * ~370 MB and a core while it warms up. Files keep apart through uniquely named tables
 * (test/support/dynamo.ts), not through separate instances.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamodb = await startDynamoDbLocal()
  project.provide('dynamodbEndpoint', dynamodb.endpoint)
  return () => dynamodb.stop()
}
