import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Role } from '../auth/roles.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'
import { type MembershipRecord, membershipPuts } from './members.ts'

/**
 * An invitation to join an organization with a role. Only the SHA-256 of its one-time secret
 * is stored; the secret itself travels once, in the link.
 */
export interface InvitationRecord {
  tenantId: string
  invitationId: string
  email: string
  role: Role
  /** Hex SHA-256 of the secret (a high-entropy random string, so no slow hash is needed). */
  secretHash: string
  createdAt: string
  expiresAt: string
  createdBy: { type: 'user'; id: string }
  acceptedAt?: string
  acceptedBy?: string
  revokedAt?: string
}

const FIELDS = [
  'tenantId',
  'invitationId',
  'email',
  'role',
  'secretHash',
  'createdAt',
  'expiresAt',
  'createdBy',
  'acceptedAt',
  'acceptedBy',
  'revokedAt',
] as const

function toInvitation(item: Record<string, unknown>): InvitationRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as InvitationRecord
}

/** Spent and expired invitations linger a month for listings and audits, then expire. */
const TTL_GRACE_MS = 30 * 86_400_000

/** The invitation was accepted, revoked or had expired when the acceptance was written. */
export class InvitationSpent extends Error {
  override readonly name = 'InvitationSpent'
}
/** The person is already a member of the organization. */
export class AlreadyMember extends Error {
  override readonly name = 'AlreadyMember'
}

export function createInvitationRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async put(record: InvitationRecord): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.invitation(record.tenantId, record.invitationId),
            type: 'invitation',
            ...record,
            ttl: epochSeconds(new Date(Date.parse(record.expiresAt) + TTL_GRACE_MS)),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    async get(tenantId: string, invitationId: string): Promise<InvitationRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.invitation(tenantId, invitationId),
          ConsistentRead: true,
        }),
      )
      return Item ? toInvitation(Item) : undefined
    },

    /** Invitations neither accepted, revoked nor expired at `now`. */
    async listPending(tenantId: string, now: string): Promise<InvitationRecord[]> {
      const pending: InvitationRecord[] = []
      for await (const page of paginateQuery(
        { client: doc },
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression:
            'attribute_not_exists(acceptedAt) AND attribute_not_exists(revokedAt) AND expiresAt > :now',
          ExpressionAttributeValues: {
            ':pk': itemKey.org(tenantId).pk,
            ':prefix': 'INVITE#',
            ':now': now,
          },
          ConsistentRead: true,
        },
      )) {
        for (const item of page.Items ?? []) pending.push(toInvitation(item))
      }
      return pending.sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    },

    /** Revokes a pending invitation; false when there is none to revoke. */
    async revoke(tenantId: string, invitationId: string, at: Date): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.invitation(tenantId, invitationId),
          UpdateExpression: 'SET revokedAt = :at',
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(acceptedAt) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':at': at.toISOString() },
        }),
      )
    },

    /**
     * Spends the invitation and adds the member in one transaction: two acceptances racing
     * make one member, and an invitation revoked or expired meanwhile adds nobody.
     */
    async accept(invitation: InvitationRecord, member: MembershipRecord): Promise<void> {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: itemKey.invitation(invitation.tenantId, invitation.invitationId),
                UpdateExpression: 'SET acceptedAt = :at, acceptedBy = :by',
                ConditionExpression:
                  'attribute_exists(pk) AND attribute_not_exists(acceptedAt) AND attribute_not_exists(revokedAt) AND expiresAt > :at',
                ExpressionAttributeValues: { ':at': member.joinedAt, ':by': member.userId },
              },
            },
            ...membershipPuts(table, member),
            {
              ConditionCheck: {
                TableName: table,
                Key: itemKey.org(invitation.tenantId),
                ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deletedAt)',
              },
            },
          ],
        }),
        ({ failed }) => {
          throw failed.includes(1) ? new AlreadyMember() : new InvitationSpent()
        },
        // A transaction racing this one may have spent the invitation first.
        { anyCancellation: true },
      )
    },
  }
}

export type InvitationRepository = ReturnType<typeof createInvitationRepository>
