import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb'
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { normalizeScopes, type Scope } from '../auth/scopes.ts'
import type { Environment } from '../config.ts'
import type { OutboxEvent } from '../events/catalog.ts'
import type { RatePolicy } from '../ratelimit/token-bucket.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { dueAttributes } from './due-index.ts'
import { epochSeconds, itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'
import { queryAll, queryFilledPage, queryPages } from './query-pages.ts'
import { type TokenListFilters, tokenFilterExpression } from './token-filters.ts'

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
  createdBy: { type: 'user' | 'token' | 'trust'; id: string }
  /** Its own rate limit, set at minting within the minter's; absent: the server's default. */
  rateLimit?: RatePolicy
  /** Set on tokens issued through a trust relationship, and on the tokens they mint. */
  trustId?: string
  /** The workload whose OIDC token was exchanged for this one (never the token itself). */
  workload?: { issuer: string; subject: string }
  /** Sessions only: when the person proved a second factor for it (absent: password alone). */
  mfaAt?: string
  /**
   * When its scopes were narrowed below those it was signed with, because the person whose
   * token tree it belongs to lost a role or a grant. Its claims then name more than it holds:
   * the record's scopes are what it may use.
   */
  narrowedAt?: string
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
  'rateLimit',
  'trustId',
  'workload',
  'mfaAt',
  'narrowedAt',
] as const

/** Expired token records linger a week (for listings and audits), then DynamoDB drops them. */
const TTL_GRACE_MS = 7 * 86400_000

export function tokenItem(record: TokenRecord) {
  const key = itemKey.token(record.tenantId, record.tokenId)
  return {
    ...key,
    type: 'token',
    ...record,
    // Access tokens get expiry and unused reminders (the scheduler works out when).
    ...(record.kind === 'access' ? dueAttributes(record.createdAt, key) : {}),
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
        mintedByUser,
        ...filter
      }: TokenListFilters & {
        kind: TokenRecord['kind']
        limit: number
        cursor?: string
        /** Only the tokens below this one in the token tree. */
        descendantOf?: string
        /** Only the tokens this person's sessions minted. */
        mintedByUser?: string
      },
    ): Promise<{ items: TokenRecord[]; nextCursor: string | null }> {
      const pk = itemKey.org(tenantId).pk
      const { filters, values } = tokenFilterExpression(filter)
      const page = await queryFilledPage(
        doc,
        {
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: [
            'kind = :kind',
            ...(descendantOf ? ['contains(ancestors, :ancestor)'] : []),
            ...(mintedByUser
              ? ['createdBy.#creatorType = :user AND createdBy.#creatorId = :creator']
              : []),
            ...filters,
          ].join(' AND '),
          ExpressionAttributeValues: {
            ...values,
            ':pk': pk,
            ':prefix': 'TOKEN#',
            ':kind': kind,
            ...(descendantOf ? { ':ancestor': descendantOf } : {}),
            ...(mintedByUser ? { ':user': 'user', ':creator': mintedByUser } : {}),
          },
          ...(mintedByUser
            ? { ExpressionAttributeNames: { '#creatorType': 'type', '#creatorId': 'id' } }
            : {}),
          ExclusiveStartKey: decodeCursor(cursor, { pk, skPrefix: 'TOKEN#' }),
        },
        limit,
      )
      return { items: page.items.map(toTokenRecord), nextCursor: encodeCursor(page.lastKey) }
    },

    /** Every token of the tenant of a kind that is neither revoked nor expired at `now`. */
    async listLive(
      tenantId: string,
      kind: TokenRecord['kind'],
      now: string,
    ): Promise<TokenRecord[]> {
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'kind = :kind AND attribute_not_exists(revokedAt) AND expiresAt > :now',
        ExpressionAttributeValues: {
          ':pk': itemKey.org(tenantId).pk,
          ':prefix': 'TOKEN#',
          ':kind': kind,
          ':now': now,
        },
        ConsistentRead: true,
      })
      return items.map(toTokenRecord)
    },

    /** Lowers a live token's scopes below its claims'; false when it is revoked or gone. */
    async narrow(tenantId: string, tokenId: string, scopes: Scope[], at: Date): Promise<boolean> {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: table,
            Key: itemKey.token(tenantId, tokenId),
            UpdateExpression: 'SET scopes = :scopes, narrowedAt = :at',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
            ExpressionAttributeValues: { ':scopes': scopes, ':at': at.toISOString() },
          }),
        )
        return true
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false
        throw error
      }
    },

    /** How many tokens below `tokenId` are not revoked themselves: what a revocation cascades to. */
    async countLiveDescendants(tenantId: string, tokenId: string): Promise<number> {
      let count = 0
      for await (const page of queryPages(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'contains(ancestors, :ancestor) AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: {
          ':pk': itemKey.org(tenantId).pk,
          ':prefix': 'TOKEN#',
          ':ancestor': tokenId,
        },
        Select: 'COUNT',
      })) {
        count += page.Count ?? 0
      }
      return count
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
        try {
          await doc.send(
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
          )
          return true
        } catch (error) {
          // Missing, of another kind, or revoked already: the plain update below tells which.
          if (!(error instanceof TransactionCanceledException)) throw error
        }
      }
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
