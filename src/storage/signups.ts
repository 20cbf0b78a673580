import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb'
import { sendConditional } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'

/**
 * A sign-up waiting for its address to be confirmed (SMTP configured). Keyed by the SHA-256
 * of the secret mailed to the address, so the secret itself is never stored; the account is
 * created when the secret comes back.
 */
export interface PendingSignup {
  email: string
  passwordHash: string
  organization?: string
  createdAt: string
  expiresAt: string
}

export function createPendingSignupStore({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async put(secretHash: string, pending: PendingSignup): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.pendingSignup(secretHash),
            type: 'pendingSignup',
            ...pending,
            ttl: epochSeconds(new Date(pending.expiresAt)),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    /** Takes the pending sign-up out (so its secret works once); undefined when none. */
    async take(secretHash: string): Promise<PendingSignup | undefined> {
      const taken = await sendConditional(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: itemKey.pendingSignup(secretHash),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
        () => undefined,
      )
      if (!taken?.Attributes) return undefined
      const { email, passwordHash, organization, createdAt, expiresAt } = taken.Attributes
      return {
        email: String(email),
        passwordHash: String(passwordHash),
        ...(typeof organization === 'string' ? { organization } : {}),
        createdAt: String(createdAt),
        expiresAt: String(expiresAt),
      }
    },
  }
}

export type PendingSignupStore = ReturnType<typeof createPendingSignupStore>
