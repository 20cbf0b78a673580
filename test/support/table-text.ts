import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import type { TestTable } from './dynamo.ts'

/**
 * Every string and byte string stored in `table`, one per line, binary as latin1: what a
 * canary test searches for secrets that must never be stored in clear.
 */
export async function tableText(table: Pick<TestTable, 'doc' | 'tableName'>): Promise<string> {
  const parts: string[] = []
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('latin1'))
    else if (typeof value === 'string') parts.push(value)
    else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v)
  }
  let start: Record<string, unknown> | undefined
  do {
    const page = await table.doc.send(
      new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start }),
    )
    for (const item of page.Items ?? []) walk(item)
    start = page.LastEvaluatedKey
  } while (start)
  return parts.join('\n')
}
