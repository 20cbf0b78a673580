import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { AppError } from '../errors.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'
import { type MembershipRecord, membershipPuts } from './members.ts'
import { initialSchedule, rekeyScheduleItem } from './rekey-schedule.ts'
import { type TokenRecord, tokenItem } from './token-record.ts'

export type MockSetting = 'mock' | 'live'

export interface OrganizationRecord {
  tenantId: string
  name: string
  ownerUserId: string
  createdAt: string
  updatedAt: string
  mockDefaults: { development: MockSetting; staging: MockSetting; production: MockSetting }
  /** Every member's session must have used a second factor; absent (earlier releases): no. */
  mfaRequired?: boolean
  deletedAt?: string
}

/**
 * A person. What they may do in each organization is their membership (storage/members.ts);
 * users written before memberships existed also name their one organization (`tenantId`,
 * `role`), until `npm run migrate` turns that into a membership.
 */
export interface UserRecord {
  userId: string
  email: string
  passwordHash: string
  createdAt: string
  /** When the person proved the address by following a mailed link (SMTP configured). */
  emailConfirmedAt?: string
  /** Earlier releases only: the organization this user owned. */
  tenantId?: string
  role?: 'owner'
}

export const DEFAULT_MOCK_SETTINGS: OrganizationRecord['mockDefaults'] = {
  development: 'mock',
  staging: 'mock',
  production: 'live',
}

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, type: _type, ttl: _ttl, ...rest } = item
  return rest as T
}

export function toOrganization(item: Record<string, unknown>): OrganizationRecord {
  return strip<OrganizationRecord>(item)
}

/**
 * A new person: their e-mail claim (unique: taken, it refuses the transaction) and their user
 * item, both written only where nothing is yet.
 */
export const personPuts = (
  table: string,
  user: Pick<UserRecord, 'userId' | 'email'> & Partial<UserRecord>,
) => [
  {
    Put: {
      TableName: table,
      Item: { ...itemKey.email(user.email), type: 'email', userId: user.userId },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  },
  {
    Put: {
      TableName: table,
      Item: { ...itemKey.user(user.userId), type: 'user', ...user },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  },
]

export function createAccountRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    /**
     * Sign-up in one transaction: the e-mail claim (unique), the user, the organization, its
     * first member (the owner), its re-keying schedule and the first session. Either all
     * exist afterwards or none does.
     */
    async createAccount(input: {
      user: UserRecord
      organization: OrganizationRecord
      owner: MembershipRecord
      session: TokenRecord
    }): Promise<void> {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            ...personPuts(table, input.user),
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.org(input.organization.tenantId),
                  type: 'org',
                  ...input.organization,
                  ownerCount: 1,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...membershipPuts(table, input.owner),
            {
              Put: {
                TableName: table,
                Item: rekeyScheduleItem(
                  initialSchedule(input.organization.tenantId, input.organization.createdAt),
                ),
              },
            },
            { Put: { TableName: table, Item: tokenItem(input.session) } },
          ],
        }),
        ({ failed, error }) => {
          if (failed.includes(0)) {
            throw new AppError('conflict', 'An account with this e-mail address already exists.')
          }
          throw error
        },
      )
    },

    async findUserByEmail(email: string): Promise<UserRecord | undefined> {
      const claim = await doc.send(new GetCommand({ TableName: table, Key: itemKey.email(email) }))
      // The user is read even when the e-mail is unknown, so both cases make the same calls.
      const userId = typeof claim.Item?.userId === 'string' ? claim.Item.userId : 'usr_absent'
      const user = await this.getUser(userId)
      return claim.Item ? user : undefined
    },

    async getUser(userId: string): Promise<UserRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({ TableName: table, Key: itemKey.user(userId) }),
      )
      return Item ? strip<UserRecord>(Item) : undefined
    },

    async getOrganization(tenantId: string): Promise<OrganizationRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({ TableName: table, Key: itemKey.org(tenantId), ConsistentRead: true }),
      )
      return Item ? toOrganization(Item) : undefined
    },

    async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: itemKey.user(userId),
          UpdateExpression: 'SET passwordHash = :h',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':h': passwordHash },
        }),
      )
    },

    /** Undefined when the organization is gone (or deleted). */
    async updateOrganization(
      tenantId: string,
      changes: Partial<Pick<OrganizationRecord, 'name' | 'mockDefaults'>>,
      at: Date,
    ): Promise<OrganizationRecord | undefined> {
      const sets = ['updatedAt = :at']
      const values: Record<string, unknown> = { ':at': at.toISOString() }
      // `name` is a DynamoDB reserved word: every field goes through a placeholder.
      const names: Record<string, string> = {}
      for (const [field, value] of Object.entries(changes)) {
        if (value === undefined) continue
        sets.push(`#${field} = :${field}`)
        names[`#${field}`] = field
        values[`:${field}`] = value
      }
      const updated = await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.org(tenantId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deletedAt)',
          ExpressionAttributeValues: values,
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ReturnValues: 'ALL_NEW',
        }),
        () => undefined,
      )
      return updated && toOrganization(updated.Attributes ?? {})
    },

    async setMfaRequired(
      tenantId: string,
      required: boolean,
      at: Date,
    ): Promise<OrganizationRecord> {
      const { Attributes } = await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: itemKey.org(tenantId),
          UpdateExpression: 'SET mfaRequired = :r, updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deletedAt)',
          ExpressionAttributeValues: { ':r': required, ':at': at.toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return toOrganization(Attributes ?? {})
    },

    /**
     * Removes a person and their e-mail claim (which frees the address for a new sign-up),
     * when the claim still names them.
     */
    async deleteUser(user: Pick<UserRecord, 'userId' | 'email'>): Promise<void> {
      const deleted = await writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: table,
                Key: itemKey.email(user.email),
                ConditionExpression: 'userId = :userId',
                ExpressionAttributeValues: { ':userId': user.userId },
              },
            },
            { Delete: { TableName: table, Key: itemKey.user(user.userId) } },
          ],
        }),
        { anyCancellation: true },
      )
      if (deleted) return
      // The claim names someone else or nobody: only the user item is ours to remove.
      await doc.send(new DeleteCommand({ TableName: table, Key: itemKey.user(user.userId) }))
    },

    async markOrganizationDeleted(tenantId: string, at: Date): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: itemKey.org(tenantId),
          UpdateExpression: 'SET deletedAt = if_not_exists(deletedAt, :at), updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at.toISOString() },
        }),
      )
    },
  }
}

export type AccountRepository = ReturnType<typeof createAccountRepository>
