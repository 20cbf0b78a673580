import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { PasskeyCredential } from '../auth/passkeys.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'

export interface StoredPasskey extends PasskeyCredential {
  userId: string
  name: string
  createdAt: string
  lastUsedAt?: string
}

/**
 * A person's passkeys, in their partition next to the other factors. Only public keys are
 * kept; the registration challenge is taken (read and deleted) in one conditional write, so it
 * serves one registration.
 */
export function createPasskeyRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async list(userId: string): Promise<StoredPasskey[]> {
      const found: StoredPasskey[] = []
      const pages = paginateQuery(
        { client: doc },
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':prefix': 'MFA#PASSKEY#' },
          ConsistentRead: true,
        },
      )
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          const { pk: _pk, sk: _sk, type: _type, ...rest } = item
          found.push(rest as StoredPasskey)
        }
      }
      return found
    },

    async putPending(userId: string, challenge: string, expiresAt: string): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.passkeyPending(userId),
            type: 'mfa-passkey-pending',
            challenge,
            expiresAt,
            ttl: epochSeconds(new Date(expiresAt)),
          },
        }),
      )
    },

    /** The pending registration's challenge, deleted as it is read; undefined if none. */
    async takePending(
      userId: string,
    ): Promise<{ challenge: string; expiresAt: string } | undefined> {
      const taken = await sendConditional(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: itemKey.passkeyPending(userId),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
        () => undefined,
      )
      return taken?.Attributes
        ? {
            challenge: String(taken.Attributes.challenge),
            expiresAt: String(taken.Attributes.expiresAt),
          }
        : undefined
    },

    async add(passkey: StoredPasskey): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.passkey(passkey.userId, passkey.credentialId),
            type: 'mfa-passkey',
            ...passkey,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    /**
     * Records a use. Authenticators that count signatures must count up: a counter that does
     * not (a cloned authenticator) is refused. Those that always send 0 are not compared.
     */
    async recordUse(userId: string, credentialId: string, counter: number, at: string) {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.passkey(userId, credentialId),
          UpdateExpression: 'SET #counter = :c, lastUsedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND (:c = :zero OR #counter < :c)',
          ExpressionAttributeNames: { '#counter': 'counter' },
          ExpressionAttributeValues: { ':c': counter, ':zero': 0, ':at': at },
        }),
      )
    },

    async remove(userId: string, credentialId: string): Promise<void> {
      await doc.send(
        new DeleteCommand({ TableName: table, Key: itemKey.passkey(userId, credentialId) }),
      )
    },
  }
}

export type PasskeyRepository = ReturnType<typeof createPasskeyRepository>
