import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Scope } from '../auth/scopes.ts'
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
  environment?: Environment
  createdAt: string
  expiresAt: string
  revokedAt?: string
  lastUsedAt?: string
  createdBy: { type: 'user' | 'token' | 'trust'; id: string }
  /** Set on tokens issued through a trust relationship, and on the tokens they mint. */
  trustId?: string
  /** The workload whose OIDC token was exchanged for this one (never the token itself). */
  workload?: { issuer: string; subject: string }
}

const FIELDS = [
  'tenantId',
  'tokenId',
  'kind',
  'name',
  'userId',
  'scopes',
  'keys',
  'environment',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
  'createdBy',
  'trustId',
  'workload',
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

export function toTokenRecord(item: Record<string, unknown>): TokenRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as TokenRecord
}

export function createTokenRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
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
      { kind, limit, cursor }: { kind: TokenRecord['kind']; limit: number; cursor?: string },
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
            FilterExpression: 'kind = :kind',
            ExpressionAttributeValues: { ':pk': pk, ':prefix': 'TOKEN#', ':kind': kind },
            Limit: limit - items.length,
            ExclusiveStartKey: startKey,
          }),
        )
        for (const item of page.Items ?? []) items.push(toTokenRecord(item))
        startKey = page.LastEvaluatedKey
      } while (startKey && items.length < limit)
      return { items, nextCursor: encodeCursor(startKey) }
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
