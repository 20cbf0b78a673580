import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb'
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { normalizeScopes, type Scope } from '../auth/scopes.ts'
import type { Environment } from '../config.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { epochSeconds, itemKey } from './keys.ts'

/** A session or access token as stored: the source of truth for its status. Never the JWT. */
export interface TokenRecord {
  tenantId: string
  tokenId: string
  kind: 'session' | 'access'
  name?: string
  userId?: string
  scopes: Scope[]
  keys?: string[]
  /** Canonical CIDRs the token may be used from; undefined means anywhere. */
  cidrs?: string[]
  environment?: Environment
  /**
   * Access tokens only: the tokens above this one in the token tree, root first (empty when a
   * person's session minted it). Revoking any of them stops this one.
   */
  ancestors?: string[]
  createdAt: string
  expiresAt: string
  revokedAt?: string
  lastUsedAt?: string
  createdBy: { type: 'user' | 'token'; id: string }
}

const FIELDS = [
  'tenantId',
  'tokenId',
  'kind',
  'name',
  'userId',
  'scopes',
  'keys',
  'cidrs',
  'environment',
  'ancestors',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
  'createdBy',
] as const

/** Expired token records linger a week (for listings and audits), then DynamoDB drops them. */
const TTL_GRACE_MS = 7 * 86400_000

export function tokenItem(record: TokenRecord) {
  return {
    ...itemKey.token(record.tenantId, record.tokenId),
    type: 'token',
    ...record,
    ttl: epochSeconds(new Date(Date.parse(record.expiresAt) + TTL_GRACE_MS)),
  }
}

/** The record of a stored item; scopes of earlier releases read as what they were split into. */
export function toTokenRecord(item: Record<string, unknown>): TokenRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  out.scopes = normalizeScopes((item.scopes as string[] | undefined) ?? [])
  return out as unknown as TokenRecord
}

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
    /**
     * Stores a new access token in one transaction with a check that every ancestor exists
     * and is not revoked, so a child can never be minted under a revoked parent, whichever
     * instance served the parent's status. Throws `AncestorRevoked` otherwise.
     */
    async mint(record: TokenRecord): Promise<void> {
      const ancestors = record.ancestors ?? []
      if (ancestors.length === 0) return this.put(record)
      try {
        await doc.send(
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
        )
      } catch (error) {
        const reasons =
          error instanceof TransactionCanceledException ? error.CancellationReasons : []
        if (reasons?.slice(1).some((r) => r.Code === 'ConditionalCheckFailed')) {
          throw new AncestorRevoked('An ancestor of this token is revoked')
        }
        throw error
      }
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

    async list(
      tenantId: string,
      {
        kind,
        limit,
        cursor,
        descendantOf,
      }: {
        kind: TokenRecord['kind']
        limit: number
        cursor?: string
        /** Only the tokens below this one in the token tree. */
        descendantOf?: string
      },
    ): Promise<{ items: TokenRecord[]; nextCursor: string | null }> {
      const pk = itemKey.org(tenantId).pk
      const items: TokenRecord[] = []
      let startKey = decodeCursor(cursor, { pk, skPrefix: 'TOKEN#' }) as
        | Record<string, unknown>
        | undefined
      // A filter applies after the page is read, so keep reading until the page is full.
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            FilterExpression: descendantOf
              ? 'kind = :kind AND contains(ancestors, :ancestor)'
              : 'kind = :kind',
            ExpressionAttributeValues: {
              ':pk': pk,
              ':prefix': 'TOKEN#',
              ':kind': kind,
              ...(descendantOf ? { ':ancestor': descendantOf } : {}),
            },
            Limit: limit - items.length,
            ExclusiveStartKey: startKey,
          }),
        )
        for (const item of page.Items ?? []) items.push(toTokenRecord(item))
        startKey = page.LastEvaluatedKey
      } while (startKey && items.length < limit)
      return { items, nextCursor: encodeCursor(startKey) }
    },

    /** How many tokens below `tokenId` are not revoked themselves: what a revocation cascades to. */
    async countLiveDescendants(tenantId: string, tokenId: string): Promise<number> {
      let count = 0
      for await (const page of paginateQuery(
        { client: doc },
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: 'contains(ancestors, :ancestor) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: {
            ':pk': itemKey.org(tenantId).pk,
            ':prefix': 'TOKEN#',
            ':ancestor': tokenId,
          },
          Select: 'COUNT',
        },
      )) {
        count += page.Count ?? 0
      }
      return count
    },

    /** Sets `revokedAt` once; revoking twice keeps the first time. False when no such token. */
    async revoke(
      tenantId: string,
      tokenId: string,
      at: Date,
      kind?: TokenRecord['kind'],
    ): Promise<boolean> {
      try {
        await doc.send(
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
        return true
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false
        throw error
      }
    },
  }
}

export type TokenRepository = ReturnType<typeof createTokenRepository>
