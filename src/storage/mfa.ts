import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { SealedRecord } from '../crypto/record.ts'
import { writeIf } from './conditional-write.ts'
import { epochSeconds, itemKey } from './keys.ts'
import { createMfaChallengeStore } from './mfa-challenges.ts'

/** A TOTP seed, sealed (auth/totp-seed-sealer.ts), with the enrolment it belongs to. */
export interface StoredTotp {
  userId: string
  enrolmentId: string
  sealed: SealedRecord
  createdAt: string
  /** Pending seeds only: shown once, confirmed with a code before this, or dropped. */
  expiresAt?: string
  /** Confirmed seeds only: the last time step whose code was accepted. */
  lastStep?: number
  confirmedAt?: string
}

export interface MfaFactors {
  totp: StoredTotp | undefined
  pendingTotp: StoredTotp | undefined
  /** Hashes of the unused recovery codes. */
  recoveryCodes: string[]
}

function totpOf(item: Record<string, unknown> | undefined): StoredTotp | undefined {
  if (!item) return undefined
  const { pk: _pk, sk: _sk, type: _type, ttl: _ttl, ...rest } = item
  return rest as unknown as StoredTotp
}

/**
 * A person's second factors, and the challenges that ask for them (mfa-challenges.ts). Factors
 * live in the person's partition (`USER#<userId>`); each change that must happen once is a conditional write, so two
 * instances racing with the same code or recovery code cannot both succeed.
 */
export function createMfaRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    ...createMfaChallengeStore({ doc, table }),

    async factors(userId: string): Promise<MfaFactors> {
      const keys = [
        itemKey.mfaTotp(userId),
        itemKey.mfaTotpPending(userId),
        itemKey.mfaRecovery(userId),
      ]
      const { Responses } = await doc.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      )
      const found = new Map<string, Record<string, unknown>>()
      for (const item of Responses?.[table] ?? []) found.set(String(item.sk), item)
      const recovery = found.get('MFA#RECOVERY')?.codes
      return {
        totp: totpOf(found.get('MFA#TOTP')),
        pendingTotp: totpOf(found.get('MFA#TOTP_PENDING')),
        recoveryCodes: recovery instanceof Set ? [...recovery].map(String) : [],
      }
    },

    async putPendingTotp(pending: StoredTotp & { expiresAt: string }): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.mfaTotpPending(pending.userId),
            type: 'mfa-totp-pending',
            ...pending,
            ttl: epochSeconds(new Date(pending.expiresAt)),
          },
        }),
      )
    },

    /**
     * The pending seed becomes the person's factor, with its first code's step used and a fresh
     * set of recovery codes, in one transaction. False when the pending seed was confirmed or
     * replaced meanwhile, or a confirmed factor exists already.
     */
    async confirmTotp(input: {
      pending: StoredTotp
      step: number
      at: string
      recoveryHashes: string[]
    }): Promise<boolean> {
      const { userId, enrolmentId, sealed, createdAt } = input.pending
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: table,
                Key: itemKey.mfaTotpPending(userId),
                ConditionExpression: 'enrolmentId = :e',
                ExpressionAttributeValues: { ':e': enrolmentId },
              },
            },
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.mfaTotp(userId),
                  type: 'mfa-totp',
                  userId,
                  enrolmentId,
                  sealed,
                  createdAt,
                  confirmedAt: input.at,
                  lastStep: input.step,
                },
                // Replacing a factor is removing it first, which needs that factor.
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.mfaRecovery(userId),
                  type: 'mfa-recovery',
                  userId,
                  codes: new Set(input.recoveryHashes),
                  createdAt: input.at,
                },
              },
            },
          ],
        }),
        { anyCancellation: true },
      )
    },

    /**
     * Records `step` as used if it is later than every step used before. False: this code (or a
     * later one) was already accepted, so it is refused.
     */
    async useTotpStep(userId: string, enrolmentId: string, step: number): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.mfaTotp(userId),
          UpdateExpression: 'SET lastStep = :step',
          ConditionExpression:
            'enrolmentId = :e AND (attribute_not_exists(lastStep) OR lastStep < :step)',
          ExpressionAttributeValues: { ':step': step, ':e': enrolmentId },
        }),
      )
    },

    /** Removes one recovery code if it is still unused; false otherwise (each works once). */
    async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.mfaRecovery(userId),
          UpdateExpression: 'DELETE codes :h',
          ConditionExpression: 'contains(codes, :code)',
          ExpressionAttributeValues: { ':h': new Set([hash]), ':code': hash },
        }),
      )
    },

    /** The authenticator app alone (the person keeps other factors and the recovery codes). */
    async removeTotp(userId: string): Promise<void> {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [itemKey.mfaTotp(userId), itemKey.mfaTotpPending(userId)].map((Key) => ({
            Delete: { TableName: table, Key },
          })),
        }),
      )
    },

    /** TOTP and recovery codes go at once (passkeys are their own items: storage/passkeys.ts). */
    async removeAll(userId: string): Promise<void> {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            itemKey.mfaTotp(userId),
            itemKey.mfaTotpPending(userId),
            itemKey.mfaRecovery(userId),
          ].map((Key) => ({ Delete: { TableName: table, Key } })),
        }),
      )
    },

    /** A new set of recovery codes replaces every unused one. */
    async replaceRecoveryCodes(userId: string, hashes: string[], at: string): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.mfaRecovery(userId),
            type: 'mfa-recovery',
            userId,
            codes: new Set(hashes),
            createdAt: at,
          },
        }),
      )
    },
  }
}

export type MfaRepository = ReturnType<typeof createMfaRepository>
