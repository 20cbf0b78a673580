import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { sendConditional, writeIf } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'

/** Between the password and the session: a second factor is owed (`verify`) or must be set up. */
export interface MfaChallengeRecord {
  userId: string
  tenantId: string
  email: string
  purpose: 'verify' | 'enrol'
  createdAt: string
  expiresAt: string
  /** The WebAuthn challenge handed out for a passkey assertion on this login, if any. */
  webauthnChallenge?: string
}

/**
 * The login challenges between a password and a session, one item each under the hash of the
 * challenge (never the challenge itself). Attempts are counted in the item, by conditional
 * writes, and a challenge ends by its deletion: it yields one session at most.
 */
export function createMfaChallengeStore({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async putChallenge(hash: string, challenge: MfaChallengeRecord): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.mfaChallenge(hash),
            type: 'mfa-challenge',
            ...challenge,
            attempts: 0,
            ttl: epochSeconds(new Date(challenge.expiresAt)),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    async getChallenge(hash: string): Promise<MfaChallengeRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({ TableName: table, Key: itemKey.mfaChallenge(hash), ConsistentRead: true }),
      )
      if (!Item) return undefined
      const { pk: _pk, sk: _sk, type: _t, ttl: _ttl, attempts: _a, ...rest } = Item
      return rest as MfaChallengeRecord
    },

    /** Binds a WebAuthn challenge to a live login challenge (it ends with it). */
    async setWebauthnChallenge(hash: string, webauthnChallenge: string): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.mfaChallenge(hash),
          UpdateExpression: 'SET webauthnChallenge = :w',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':w': webauthnChallenge },
        }),
      )
    },

    /**
     * Counts one attempt at a challenge and returns it, unless it is unknown, used up or has had
     * `maxAttempts` already. Counting and reading are one conditional write, so concurrent
     * guesses cannot exceed the cap.
     */
    async attemptChallenge(
      hash: string,
      maxAttempts: number,
    ): Promise<MfaChallengeRecord | undefined> {
      const counted = await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.mfaChallenge(hash),
          UpdateExpression: 'ADD attempts :one',
          ConditionExpression: 'attribute_exists(pk) AND attempts < :max',
          ExpressionAttributeValues: { ':one': 1, ':max': maxAttempts },
          ReturnValues: 'ALL_NEW',
        }),
        () => undefined,
      )
      if (!counted?.Attributes) return undefined
      const { pk: _pk, sk: _sk, type: _t, ttl: _ttl, attempts: _a, ...rest } = counted.Attributes
      return rest as MfaChallengeRecord
    },

    /** Ends a challenge; false if it had already ended (it yields one session at most). */
    async consumeChallenge(hash: string): Promise<boolean> {
      return writeIf(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: itemKey.mfaChallenge(hash),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      )
    },
  }
}
