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
export function ownerCountUpdate(table: string, tenantId: string, delta: 1 | -1) {
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

export const lastOwner = () =>
  new AppError(
    'last_owner',
    'This is the organization’s last owner: make another member owner first.',
  )
export const changedMeanwhile = () =>
  new AppError('conflict', 'This member changed meanwhile; read the list again and retry.')
