import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { SealedRecord } from '../crypto/record.ts'
import { personPuts } from './accounts.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'
import { type MembershipRecord, membershipPuts } from './members.ts'

/** A domain whose people the identity provider may sign in for the first time. */
export interface SsoDomain {
  domain: string
  /** The value the TXT record `_keystash-challenge.<domain>` must hold. */
  challenge: string
  addedAt: string
  verifiedAt?: string
}

/** An organization's single sign-on settings. The client secret is only ever sealed here. */
export interface SsoConfigRecord {
  tenantId: string
  issuer: string
  clientId: string
  /** Bumped whenever the secret changes; binds the sealed secret (client-secret.ts). */
  secretVersion: number
  sealedSecret: SealedRecord
  /** The role of people it signs in for the first time. */
  defaultRole: string
  /** Password logins of members are refused. */
  required: boolean
  domains: SsoDomain[]
  updatedAt: string
  updatedBy: string
}

/** A sign-in between its start and the session it ends with (no secret: see sso/binding.ts). */
export interface SsoLoginRecord {
  tenantId: string
  /** `redirect`: the dashboard; `json`: a program that reads the session from the finish call. */
  mode: 'redirect' | 'json'
  /** A confirmation of a signed-in person (step-up), not a first sign-in. */
  reauth?: boolean
  status: 'started' | 'verified'
  userId?: string
  email?: string
  /** When the provider reported a multi-factor sign-in (its `amr`), the session carries it. */
  mfaAt?: string
  createdAt: string
  expiresAt: string
}

const strip = <T>(item: Record<string, unknown>): T => {
  const { pk: _pk, sk: _sk, type: _type, ttl: _ttl, ...rest } = item
  return rest as T
}

export function createSsoRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async getConfig(tenantId: string): Promise<SsoConfigRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.ssoConfig(tenantId),
          ConsistentRead: true,
        }),
      )
      return Item ? strip<SsoConfigRecord>(Item) : undefined
    },

    async putConfig(record: SsoConfigRecord): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { ...itemKey.ssoConfig(record.tenantId), type: 'sso', ...record },
        }),
      )
    },

    async deleteConfig(tenantId: string): Promise<boolean> {
      const { Attributes } = await doc.send(
        new DeleteCommand({
          TableName: table,
          Key: itemKey.ssoConfig(tenantId),
          ReturnValues: 'ALL_OLD',
        }),
      )
      return Attributes !== undefined
    },

    /** Turns "SSO required" off; false when the organization has no settings. */
    async clearRequired(tenantId: string, at: Date, by: string): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.ssoConfig(tenantId),
          UpdateExpression: 'SET #required = :false, updatedAt = :at, updatedBy = :by',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#required': 'required' },
          ExpressionAttributeValues: { ':false': false, ':at': at.toISOString(), ':by': by },
        }),
      )
    },

    /**
     * A person the provider vouched for, new to this server, in one transaction: the e-mail
     * claim (unique), the user (with no password: only single sign-on or an invitation's
     * account page lets them in) and their membership. False when the address was claimed
     * meanwhile.
     */
    async createPerson(input: {
      user: { userId: string; email: string; createdAt: string }
      membership: MembershipRecord
    }): Promise<boolean> {
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            ...personPuts(table, input.user),
            ...membershipPuts(table, input.membership),
          ],
        }),
      )
    },

    /** The person an identity (`iss`, `sub`) of this organization's provider belongs to. */
    async getIdentity(tenantId: string, identityHash: string): Promise<string | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.ssoIdentity(tenantId, identityHash),
          ConsistentRead: true,
        }),
      )
      return typeof Item?.userId === 'string' ? Item.userId : undefined
    },

    /** Links an identity to a person once; a second link of the same identity is refused. */
    async linkIdentity(input: {
      tenantId: string
      identityHash: string
      issuer: string
      userId: string
      at: Date
    }): Promise<boolean> {
      return writeIf(
        doc,
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.ssoIdentity(input.tenantId, input.identityHash),
            type: 'ssoIdentity',
            issuer: input.issuer,
            userId: input.userId,
            linkedAt: input.at.toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    async startLogin(bindingHash: string, record: SsoLoginRecord): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.ssoLogin(bindingHash),
            type: 'ssoLogin',
            ...record,
            ttl: epochSeconds(new Date(record.expiresAt)),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    async getLogin(bindingHash: string): Promise<SsoLoginRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.ssoLogin(bindingHash),
          ConsistentRead: true,
        }),
      )
      return Item ? strip<SsoLoginRecord>(Item) : undefined
    },

    /** The provider vouched for the person: once only, while the sign-in is still open. */
    async markVerified(
      bindingHash: string,
      who: { userId: string; email: string; mfaAt?: string | undefined },
      now: Date,
    ): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.ssoLogin(bindingHash),
          UpdateExpression: `SET #status = :verified, userId = :u, email = :e${who.mfaAt ? ', mfaAt = :m' : ''}`,
          ConditionExpression: '#status = :started AND expiresAt > :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':verified': 'verified',
            ':started': 'started',
            ':u': who.userId,
            ':e': who.email,
            ...(who.mfaAt ? { ':m': who.mfaAt } : {}),
            ':now': now.toISOString(),
          },
        }),
      )
    },

    /** Ends a verified sign-in, once: the record is gone whether or not a session follows. */
    async consumeLogin(bindingHash: string, now: Date): Promise<SsoLoginRecord | undefined> {
      const deleted = await sendConditional(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: itemKey.ssoLogin(bindingHash),
          ConditionExpression: '#status = :verified AND expiresAt > :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':verified': 'verified', ':now': now.toISOString() },
          ReturnValues: 'ALL_OLD',
        }),
        () => undefined,
      )
      return deleted?.Attributes ? strip<SsoLoginRecord>(deleted.Attributes) : undefined
    },
  }
}

export type SsoRepository = ReturnType<typeof createSsoRepository>
