import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Role } from '../auth/roles.ts'
import { AppError } from '../errors.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'
import {
  changedMeanwhile,
  lastOwner,
  type MembershipRecord,
  membershipPuts,
  ownerCountUpdate,
  toMembership,
} from './member-items.ts'

export {
  type MembershipRecord,
  memberRoleOf,
  membershipPuts,
  type SignInMethod,
  toMembership,
} from './member-items.ts'

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
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            ...membershipPuts(table, record),
            record.role === 'owner'
              ? ownerCountUpdate(table, record.tenantId, 1)
              : {
                  ConditionCheck: {
                    TableName: table,
                    Key: itemKey.org(record.tenantId),
                    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deletedAt)',
                  },
                },
          ],
        }),
        ({ failed, error }) => {
          if (failed.includes(0)) throw new AppError('conflict', 'This person is already a member.')
          if (failed.includes(2)) throw new AppError('not_found', 'No such organization.')
          throw error
        },
      )
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
      await sendConditional(
        doc,
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
        ({ failed, error }) => {
          if (failed.includes(0)) throw changedMeanwhile()
          if (failed.includes(1)) throw ownerDelta < 0 ? lastOwner() : changedMeanwhile()
          throw error
        },
      )
    },

    /** The member `to` (of role `toRole`) becomes owner and `from`, an owner, becomes admin. */
    async transferOwnership(tenantId: string, from: string, to: string, toRole: Role) {
      await sendConditional(
        doc,
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
        () => {
          throw changedMeanwhile()
        },
      )
    },

    /** Removes a member whose role is still `role`; the last owner stays (`last_owner`). */
    async remove(tenantId: string, userId: string, role: Role): Promise<void> {
      await sendConditional(
        doc,
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
        ({ failed, error }) => {
          if (failed.includes(0)) throw changedMeanwhile()
          if (failed.includes(2)) throw lastOwner()
          throw error
        },
      )
    },

    /** Forgets that a person belongs to an organization (the organization is being erased). */
    async removePointer(userId: string, tenantId: string): Promise<void> {
      await doc.send(
        new DeleteCommand({ TableName: table, Key: itemKey.memberOf(userId, tenantId) }),
      )
    },

    /** Grants (or, with undefined, withdraws) production reveals to a member; false when none. */
    async setProductionReveal(
      tenantId: string,
      userId: string,
      grant: MembershipRecord['productionReveal'],
    ): Promise<boolean> {
      return writeIf(
        doc,
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
