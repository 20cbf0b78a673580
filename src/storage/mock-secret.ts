import { randomBytes } from 'node:crypto'
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'

/**
 * The secret that makes mock values unpredictable. Mock values are fake, so it protects no
 * real key; it only keeps outsiders from computing another tenant's fakes. It lives in
 * DynamoDB (created once, shared by every instance) and never involves KMS, so mock reads keep
 * working while KMS is down. `KEYSTASH_MOCK_SECRET` replaces it.
 */
export function createMockSecretSource({
  doc,
  table,
  configured,
}: {
  doc: DynamoDBDocumentClient
  table: string
  configured: string | undefined
}) {
  let secret: Promise<string> | undefined
  const load = async (): Promise<string> => {
    const key = itemKey.mockSecret()
    const { Item } = await doc.send(
      new GetCommand({ TableName: table, Key: key, ConsistentRead: true }),
    )
    if (typeof Item?.secret === 'string') return Item.secret
    const fresh = randomBytes(32).toString('base64url')
    const stored = await writeIf(
      doc,
      new PutCommand({
        TableName: table,
        Item: { ...key, type: 'mock-secret', secret: fresh },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    )
    // Refused: another instance stored its secret first, and that one holds.
    return stored ? fresh : load()
  }
  return {
    get(): Promise<string> {
      if (configured) return Promise.resolve(configured)
      secret ??= load().catch((error: unknown) => {
        secret = undefined
        throw error
      })
      return secret
    },
  }
}
