import { TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { MemberRole, Role } from '../auth/roles.ts'
import { AppError } from '../errors.ts'
import { itemKey } from './keys.ts'

export type SignInMethod = 'password' | 'sso'

/**
 * A person's place in one organization (`ORG#<tenantId>` / `MEMBER#<userId>`), with a pointer
 * back from the person (`USER#<userId>` / `MEMBEROF#<tenantId>`) so a login finds their
 * organizations. The organization item counts its owners (`ownerCount`), so that the last
 * owner cannot be demoted or removed, even by two owners acting at once.
 */
export interface MembershipRecord {
  tenantId: string
  userId: string
  email: string
  role: Role
  joinedAt: string
  signInMethod: SignInMethod
  lastSignInAt?: string
  /** An owner's grant to reveal production values (meaningful for developers). */
  productionReveal?: { grantedBy: string; grantedAt: string }
}

const FIELDS = [
  'tenantId',
  'userId',
  'email',
  'role',
  'joinedAt',
  'signInMethod',
  'lastSignInAt',
  'productionReveal',
] as const

export function toMembership(item: Record<string, unknown>): MembershipRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as MembershipRecord
}

export function memberRoleOf(record: MembershipRecord): MemberRole {
  return { role: record.role, productionReveal: record.productionReveal !== undefined }
}

/** The writes that make a person a member, for a transaction of the caller's. */
export function membershipPuts(table: string, record: MembershipRecord) {
  return [
    {
      Put: {
        TableName: table,
        Item: { ...itemKey.member(record.tenantId, record.userId), type: 'member', ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: table,
        Item: {
          ...itemKey.memberOf(record.userId, record.tenantId),
          type: 'memberOf',
          tenantId: record.tenantId,
          userId: record.userId,
          joinedAt: record.joinedAt,
        },
      },
    },
  ]
}

/** The organization item gains (or loses) an owner; losing the last one fails the write. */
function ownerCountUpdate(table: string, tenantId: string, delta: 1 | -1) {
  return {
    Update: {
      TableName: table,
      Key: itemKey.org(tenantId),
      UpdateExpression: 'SET ownerCount = if_not_exists(ownerCount, :zero) + :delta',
      ConditionExpression:
        delta > 0
          ? 'attribute_exists(pk) AND attribute_not_exists(deletedAt)'
          : 'attribute_exists(pk) AND ownerCount > :one',
      ExpressionAttributeValues: {
        ':delta': delta,
        ...(delta > 0 ? { ':zero': 0 } : { ':zero': 0, ':one': 1 }),
      },
    },
  }
}

const lastOwner = () =>
  new AppError(
    'last_owner',
    'This is the organization’s last owner: make another member owner first.',
  )
const changedMeanwhile = () =>
  new AppError('conflict', 'This member changed meanwhile; read the list again and retry.')

/** Which write of a cancelled transaction failed its condition, by index. */
function failedIndexes(error: unknown): number[] {
  if (!(error instanceof TransactionCanceledException)) throw error
  return (error.CancellationReasons ?? []).flatMap((reason, index) =>
    reason.Code === 'ConditionalCheckFailed' ? [index] : [],
  )
}

export function createMemberRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    /** Adds a member; a conflict when they already are one, not_found for a deleted organization. */
    async add(record: MembershipRecord): Promise<void> {
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              ...membershipPuts(table, record),
              record.role === 'owner'
                ? ownerCountUpdate(table, record.tenantId, 1)
                : {
                    ConditionCheck: {
                      TableName: table,
                      Key: itemKey.org(record.tenantId),
                      ConditionExpression:
                        'attribute_exists(pk) AND attribute_not_exists(deletedAt)',
                    },
                  },
            ],
          }),
        )
      } catch (error) {
        const failed = failedIndexes(error)
        if (failed.includes(0)) throw new AppError('conflict', 'This person is already a member.')
        if (failed.includes(2)) throw new AppError('not_found', 'No such organization.')
        throw error
      }
    },

    async get(tenantId: string, userId: string): Promise<MembershipRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.member(tenantId, userId),
          ConsistentRead: true,
        }),
      )
      return Item ? toMembership(Item) : undefined
    },

    async list(tenantId: string): Promise<MembershipRecord[]> {
      const members: MembershipRecord[] = []
      for await (const page of paginateQuery(
        { client: doc },
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': itemKey.org(tenantId).pk, ':prefix': 'MEMBER#' },
          ConsistentRead: true,
        },
      )) {
        for (const item of page.Items ?? []) members.push(toMembership(item))
      }
      return members
    },

    /** The organizations a person belongs to, oldest membership first. */
    async organizationsOf(userId: string): Promise<Array<{ tenantId: string; joinedAt: string }>> {
      const found: Array<{ tenantId: string; joinedAt: string }> = []
      for await (const page of paginateQuery(
        { client: doc },
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': itemKey.user(userId).pk, ':prefix': 'MEMBEROF#' },
          ConsistentRead: true,
        },
      )) {
        for (const item of page.Items ?? []) {
          found.push({ tenantId: String(item.tenantId), joinedAt: String(item.joinedAt) })
        }
      }
      return found.sort((a, b) => a.joinedAt.localeCompare(b.joinedAt))
    },

    /**
     * Changes a role, provided it is still `from` (else a conflict): an owner demoted must not
     * be the last one (`last_owner`).
     */
    async changeRole(tenantId: string, userId: string, from: Role, to: Role): Promise<void> {
      if (from === to) return
      const ownerDelta = from === 'owner' ? -1 : to === 'owner' ? 1 : 0
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: table,
                  Key: itemKey.member(tenantId, userId),
                  UpdateExpression: 'SET #role = :to',
                  ConditionExpression: '#role = :from',
                  ExpressionAttributeNames: { '#role': 'role' },
                  ExpressionAttributeValues: { ':to': to, ':from': from },
                },
              },
              ...(ownerDelta === 0 ? [] : [ownerCountUpdate(table, tenantId, ownerDelta)]),
            ],
          }),
        )
      } catch (error) {
        const failed = failedIndexes(error)
        if (failed.includes(0)) throw changedMeanwhile()
        if (failed.includes(1)) throw ownerDelta < 0 ? lastOwner() : changedMeanwhile()
        throw error
      }
    },

    /** The member `to` (of role `toRole`) becomes owner and `from`, an owner, becomes admin. */
    async transferOwnership(tenantId: string, from: string, to: string, toRole: Role) {
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: table,
                  Key: itemKey.member(tenantId, to),
                  UpdateExpression: 'SET #role = :owner',
                  ConditionExpression: '#role = :toRole',
                  ExpressionAttributeNames: { '#role': 'role' },
                  ExpressionAttributeValues: { ':owner': 'owner', ':toRole': toRole },
                },
              },
              {
                Update: {
                  TableName: table,
                  Key: itemKey.member(tenantId, from),
                  UpdateExpression: 'SET #role = :admin',
                  ConditionExpression: '#role = :owner',
                  ExpressionAttributeNames: { '#role': 'role' },
                  ExpressionAttributeValues: { ':admin': 'admin', ':owner': 'owner' },
                },
              },
            ],
          }),
        )
      } catch (error) {
        if (failedIndexes(error).length > 0) throw changedMeanwhile()
        throw error
      }
    },

    /** Removes a member whose role is still `role`; the last owner stays (`last_owner`). */
    async remove(tenantId: string, userId: string, role: Role): Promise<void> {
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: table,
                  Key: itemKey.member(tenantId, userId),
                  ConditionExpression: '#role = :role',
                  ExpressionAttributeNames: { '#role': 'role' },
                  ExpressionAttributeValues: { ':role': role },
                },
              },
              { Delete: { TableName: table, Key: itemKey.memberOf(userId, tenantId) } },
              ...(role === 'owner' ? [ownerCountUpdate(table, tenantId, -1)] : []),
            ],
          }),
        )
      } catch (error) {
        const failed = failedIndexes(error)
        if (failed.includes(0)) throw changedMeanwhile()
        if (failed.includes(2)) throw lastOwner()
        throw error
      }
    },

    /** Forgets that a person belongs to an organization (the organization is being erased). */
    async removePointer(userId: string, tenantId: string): Promise<void> {
      await doc.send(
        new DeleteCommand({ TableName: table, Key: itemKey.memberOf(userId, tenantId) }),
      )
    },

    /** Grants (or, with undefined, withdraws) production reveals to a member. */
    async setProductionReveal(
      tenantId: string,
      userId: string,
      grant: MembershipRecord['productionReveal'],
    ): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: itemKey.member(tenantId, userId),
          ...(grant
            ? {
                UpdateExpression: 'SET productionReveal = :grant',
                ExpressionAttributeValues: { ':grant': grant },
              }
            : { UpdateExpression: 'REMOVE productionReveal' }),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      )
    },

    /** Best effort: a failed write never fails the sign-in. */
    async touchSignIn(tenantId: string, userId: string, at: Date): Promise<void> {
      await doc
        .send(
          new UpdateCommand({
            TableName: table,
            Key: itemKey.member(tenantId, userId),
            UpdateExpression: 'SET lastSignInAt = :at',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':at': at.toISOString() },
          }),
        )
        .catch(() => {})
    },
  }
}

export type MemberRepository = ReturnType<typeof createMemberRepository>
