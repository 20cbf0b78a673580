import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { writeIf } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'

/** A device login (RFC 8628) from its request to the session it ends with. */
export interface DeviceLoginRecord {
  /** A digest of the device code; the code itself is never stored. */
  deviceHash: string
  userCode: string
  /** The requesting client as the server saw it (address) and as it described itself. */
  client: { address: string | null; userAgent: string | null; host: string | null }
  createdAt: string
  expiresAt: string
  /** Seconds the client must leave between polls; raised by each `slow_down`. */
  interval: number
  lastPolledAt?: string
  status: 'pending' | 'approved' | 'denied' | 'issued'
  /** Set by the approval: whose session the device gets, and the latest it may end. */
  tenantId?: string
  userId?: string
  approvedBy?: string
  notAfter?: string
  /** When the approving session's person gave their second factor, if they did. */
  mfaAt?: string
}

const strip = (item: Record<string, unknown>): DeviceLoginRecord => {
  const { pk: _pk, sk: _sk, type: _type, ttl: _ttl, ...rest } = item
  return rest as unknown as DeviceLoginRecord
}

export function createDeviceLoginRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    /** False when the user code is taken by another login in flight (draw another). */
    async create(record: DeviceLoginRecord): Promise<boolean> {
      const ttl = epochSeconds(new Date(record.expiresAt))
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.deviceLogin(record.deviceHash),
                  type: 'device',
                  ...record,
                  ttl,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.deviceUserCode(record.userCode),
                  type: 'deviceUserCode',
                  deviceHash: record.deviceHash,
                  expiresAt: record.expiresAt,
                  ttl,
                },
                // A code of an expired login may be reused (DynamoDB Local keeps TTL'd items).
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
                ExpressionAttributeValues: { ':now': record.createdAt },
              },
            },
          ],
        }),
      )
    },

    async get(deviceHash: string): Promise<DeviceLoginRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.deviceLogin(deviceHash),
          ConsistentRead: true,
        }),
      )
      return Item ? strip(Item) : undefined
    },

    async findByUserCode(userCode: string): Promise<DeviceLoginRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.deviceUserCode(userCode),
          ConsistentRead: true,
        }),
      )
      if (typeof Item?.deviceHash !== 'string') return undefined
      const record = await this.get(Item.deviceHash)
      return record?.userCode === userCode ? record : undefined
    },

    /** Records a poll; `interval` is raised when the client polled too soon. */
    async polled(deviceHash: string, at: Date, interval: number): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: itemKey.deviceLogin(deviceHash),
          UpdateExpression: 'SET lastPolledAt = :at, #interval = :interval',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#interval': 'interval' },
          ExpressionAttributeValues: { ':at': at.toISOString(), ':interval': interval },
        }),
      )
    },

    /** Approves or denies a pending, unexpired login; false when it is no longer one. */
    async decide(
      deviceHash: string,
      decision:
        | { status: 'denied' }
        | {
            status: 'approved'
            tenantId: string
            userId: string
            approvedBy: string
            notAfter: string
            mfaAt?: string
          },
      at: Date,
    ): Promise<boolean> {
      const fields = Object.entries(decision)
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.deviceLogin(deviceHash),
          UpdateExpression: `SET ${fields.map(([name]) => `#${name} = :${name}`).join(', ')}`,
          ConditionExpression: '#status = :pending AND expiresAt > :now',
          ExpressionAttributeNames: Object.fromEntries(fields.map(([name]) => [`#${name}`, name])),
          ExpressionAttributeValues: {
            ...Object.fromEntries(fields.map(([name, value]) => [`:${name}`, value])),
            ':pending': 'pending',
            ':now': at.toISOString(),
          },
        }),
      )
    },

    /** An approved login becomes a session once: false when another poll took it. */
    async markIssued(deviceHash: string): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.deviceLogin(deviceHash),
          UpdateExpression: 'SET #status = :issued',
          ConditionExpression: '#status = :approved',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':issued': 'issued', ':approved': 'approved' },
        }),
      )
    },
  }
}

export type DeviceLoginRepository = ReturnType<typeof createDeviceLoginRepository>
