import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb'

/**
 * Keystash keeps everything in one DynamoDB table (single-table design).
 *
 * Primary key: `pk` (S, partition) + `sk` (S, sort). One global secondary index, `gsi1`
 * (`gsi1pk` / `gsi1sk`), for the few look-ups that cross partitions. `ttl` (N, epoch seconds)
 * lets DynamoDB expire short-lived items; reads never trust it alone (DynamoDB Local does not
 * expire items, and AWS may take up to days), so every reader also checks `expiresAt`.
 *
 * | item                   | pk                    | sk                          | gsi1pk / gsi1sk        |
 * |------------------------|-----------------------|-----------------------------|------------------------|
 * | organization (tenant)  | `ORG#<orgId>`         | `ORG`                       |                        |
 * | user                   | `USER#<userId>`       | `USER`                      |                        |
 * | e-mail -> user (unique)| `EMAIL#<email>`       | `EMAIL`                     |                        |
 * | TOTP factor (sealed)   | `USER#<userId>`       | `MFA#TOTP` (`MFA#TOTP_PENDING` until confirmed) |  |
 * | recovery codes (hashed)| `USER#<userId>`       | `MFA#RECOVERY`              |                        |
 * | passkey (public key)   | `USER#<userId>`       | `MFA#PASSKEY#<credentialId>` (`MFA#PASSKEY_PENDING` while registering) | |
 * | second-factor challenge| `MFACHAL#<sha256>`    | `MFACHAL`                   |                        |
 * | membership             | `ORG#<orgId>`         | `MEMBER#<userId>`           |                        |
 * | person -> membership   | `USER#<userId>`       | `MEMBEROF#<orgId>`          |                        |
 * | invitation (hashed)    | `ORG#<orgId>`         | `INVITE#<invitationId>`     |                        |
 * | sign-up to confirm     | `SIGNUP#<sha256>`     | `SIGNUP`                    |                        |
 * | token (session/access) | `ORG#<orgId>`         | `TOKEN#<tokenId>`           |                        |
 * | API key (metadata)     | `ORG#<orgId>`         | `KEY#<keyId>`               |                        |
 * | API key, by name       | `ORG#<orgId>`         | `KEYNAME#<name>`            |                        |
 * | key version (sealed)   | `ORG#<orgId>`         | `KEYVER#<keyId>#<000000001>`|                        |
 * | tenant KEK version     | `ORG#<orgId>`         | `KEK#<000000002>`           |                        |
 * | re-encryption job      | `ORG#<orgId>`         | `KEKJOB#<jobId>`            | `KEKJOBS` / `<orgId>#<jobId>` while open |
 * | re-keying schedule     | `ORG#<orgId>`         | `REKEY`                     | `REKEYDUE` / `<dueAt>#<orgId>` while on |
 * | raw material reminder  | `ORG#<orgId>`         | `KEKREMIND`                 | `KEKREMIND` / `<remindFrom>#<orgId>` |
 * | trust relationship     | `ORG#<orgId>`         | `TRUST#<relationshipId>`    |                        |
 * | relationship -> org    | `TRUSTREF#<relationshipId>` | `TRUSTREF`            |                        |
 * | exchanged `jti` (once) | `ORG#<orgId>`         | `JTIUSE#<relId>#<sha256>`   |                        |
 * | mock-value secret      | `SETTINGS`            | `MOCK_SECRET`               |                        |
 * | token signing key      | `SIGNING`             | `KEY#<kid>`                 |                        |
 * | signing key revoked    | `SIGNING`             | `REVOKED#<kid>`             |                        |
 * | idempotent response    | `IDEMP#<orgId>#<sha256>`| `IDEMP`                   |                        |
 *
 * A tenant's tokens and keys share the tenant's partition, so the hot read path fetches the
 * token record, the organization and the key record together in one BatchGetItem.
 *
 * An API key is stored twice, under its id and under its name, with the same attributes
 * (written together in one transaction), so a read by either makes one round trip; the name
 * item also makes names unique per tenant (a conditional put) and lists keys sorted by name.
 * Each item carries the current version's sealed value; older versions are their own items.
 * A sealed value re-keyed since its version was created also carries `sealedAt` and
 * `recordVersion` (storage/rekey-store.ts).
 */
export const TABLE_KEYS = { pk: 'pk', sk: 'sk', gsi1: 'gsi1', ttl: 'ttl' } as const

export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<'created' | 'exists'> {
  let outcome: 'created' | 'exists' = 'exists'
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    )
    outcome = 'created'
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error
  }
  await waitForActive(client, tableName)
  if (outcome === 'created') {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      }),
    )
  }
  return outcome
}

async function waitForActive(client: DynamoDBClient, tableName: string): Promise<void> {
  // DynamoDB Local creates tables synchronously; AWS takes a few seconds.
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }))
      if (Table?.TableStatus === 'ACTIVE') return
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  throw new Error(`Table ${tableName} did not become ACTIVE within 120 s`)
}
