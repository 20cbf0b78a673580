import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Scope } from '../auth/scopes.ts'
import type { OutboxEvent } from '../events/catalog.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'
import { createTokenQueries } from './token-queries.ts'
import { type TokenRecord, tokenItem, toTokenRecord } from './token-record.ts'

/** A token cannot be minted under an ancestor that is revoked (or gone). */
export class AncestorRevoked extends Error {
  override readonly name = 'AncestorRevoked'
}

export function createTokenRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    ...createTokenQueries({ doc, table }),

    /**
     * Stores a new access token in one transaction with a check that every ancestor exists
     * and is not revoked, so a child can never be minted under a revoked parent, whichever
     * instance served the parent's status. Throws `AncestorRevoked` otherwise.
     */
    async mint(record: TokenRecord): Promise<void> {
      const ancestors = record.ancestors ?? []
      if (ancestors.length === 0) return this.put(record)
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: tokenItem(record),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...ancestors.map((tokenId) => ({
              ConditionCheck: {
                TableName: table,
                Key: itemKey.token(record.tenantId, tokenId),
                ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
              },
            })),
          ],
        }),
        ({ failed, error }) => {
          if (failed.some((index) => index > 0)) {
            throw new AncestorRevoked('An ancestor of this token is revoked')
          }
          throw error
        },
      )
    },

    async put(record: TokenRecord): Promise<void> {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: tokenItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },

    async get(tenantId: string, tokenId: string): Promise<TokenRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.token(tenantId, tokenId),
          ConsistentRead: true,
        }),
      )
      return Item ? toTokenRecord(Item) : undefined
    },

    /** Lowers a live token's scopes below its claims'; false when it is revoked or gone. */
    async narrow(tenantId: string, tokenId: string, scopes: Scope[], at: Date): Promise<boolean> {
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.token(tenantId, tokenId),
          UpdateExpression: 'SET scopes = :scopes, narrowedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':scopes': scopes, ':at': at.toISOString() },
        }),
      )
    },

    /**
     * Sets `revokedAt` once; revoking twice keeps the first time. False when no such token.
     * `event` is written in the same transaction as the first revocation only, so a token's
     * revocation is reported once however often it is repeated.
     */
    async revoke(
      tenantId: string,
      tokenId: string,
      at: Date,
      kind?: TokenRecord['kind'],
      event?: OutboxEvent,
    ): Promise<boolean> {
      if (event) {
        const revoked = await writeIf(
          doc,
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: table,
                  Key: itemKey.token(tenantId, tokenId),
                  UpdateExpression: 'SET revokedAt = :at',
                  ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(revokedAt)${kind ? ' AND kind = :kind' : ''}`,
                  ExpressionAttributeValues: {
                    ':at': at.toISOString(),
                    ...(kind ? { ':kind': kind } : {}),
                  },
                },
              },
              eventPut(table, event),
            ],
          }),
          { anyCancellation: true },
        )
        if (revoked) return true
        // Missing, of another kind, or revoked already: the plain update below tells which.
      }
      return writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.token(tenantId, tokenId),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
          ConditionExpression: kind
            ? 'attribute_exists(pk) AND kind = :kind'
            : 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':at': at.toISOString(),
            ...(kind ? { ':kind': kind } : {}),
          },
        }),
      )
    },
  }
}

export type TokenRepository = ReturnType<typeof createTokenRepository>
