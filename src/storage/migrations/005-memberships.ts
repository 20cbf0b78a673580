import { GetCommand, paginateScan, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { writeIf } from '../conditional-write.ts'
import { itemKey } from '../keys.ts'
import { type MembershipRecord, membershipPuts } from '../members.ts'
import type { Migration } from './index.ts'

interface LegacyUser {
  userId: string
  email: string
  tenantId: string
  createdAt: string
}

/**
 * Earlier releases had one person per organization, named by the user item itself
 * (`tenantId`, `role: owner`). Each becomes a membership: the person is the organization's
 * one owner (`ownerCount` 1), and the user item loses the two fields, in one transaction per
 * person, so the step can stop anywhere and run again. A person whose organization was
 * deleted is removed with their e-mail claim, which frees the address for a new sign-up.
 */
export const memberships: Migration = {
  id: '005-memberships',
  description: 'turn each organization’s one user into a membership with the owner role',
  async run(ctx) {
    let converted = 0
    let freed = 0
    for await (const page of paginateScan(
      { client: ctx.doc },
      {
        TableName: ctx.table,
        FilterExpression: '#type = :user AND attribute_exists(tenantId)',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':user': 'user' },
        ProjectionExpression: 'userId, email, tenantId, createdAt',
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        const user = item as LegacyUser
        const { Item: org } = await ctx.doc.send(
          new GetCommand({
            TableName: ctx.table,
            Key: itemKey.org(user.tenantId),
            ConsistentRead: true,
          }),
        )
        const stillLegacy = {
          ConditionCheck: {
            TableName: ctx.table,
            Key: itemKey.user(user.userId),
            ConditionExpression: 'tenantId = :tenantId',
            ExpressionAttributeValues: { ':tenantId': user.tenantId },
          },
        }
        if (!org || org.deletedAt) {
          await transact(ctx, [
            stillLegacy,
            { Delete: { TableName: ctx.table, Key: itemKey.email(user.email) } },
            { Delete: { TableName: ctx.table, Key: itemKey.user(user.userId) } },
          ]).then((done) => done && freed++)
          continue
        }
        const owner: MembershipRecord = {
          tenantId: user.tenantId,
          userId: user.userId,
          email: user.email,
          role: 'owner',
          joinedAt: user.createdAt,
          signInMethod: 'password',
        }
        const done = await transact(ctx, [
          ...membershipPuts(ctx.table, owner),
          {
            Update: {
              TableName: ctx.table,
              Key: itemKey.org(user.tenantId),
              UpdateExpression: 'SET ownerCount = if_not_exists(ownerCount, :zero) + :one',
              ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
            },
          },
          {
            Update: {
              TableName: ctx.table,
              Key: itemKey.user(user.userId),
              UpdateExpression: 'REMOVE tenantId, #role',
              ConditionExpression: 'tenantId = :tenantId',
              ExpressionAttributeNames: { '#role': 'role' },
              ExpressionAttributeValues: { ':tenantId': user.tenantId },
            },
          },
        ])
        if (done) converted++
      }
    }
    return `${converted} organization owner(s) given memberships; ${freed} user(s) of deleted organizations removed`
  },
}

/** False when a condition failed: another run (or the new code) got there first. */
const transact = (
  ctx: Parameters<Migration['run']>[0],
  items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>,
): Promise<boolean> =>
  writeIf(ctx.doc, new TransactWriteCommand({ TransactItems: items }), { anyCancellation: true })
