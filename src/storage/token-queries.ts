import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { itemKey } from './keys.ts'
import { queryAll, queryFilledPage, queryPages } from './query-pages.ts'
import { type TokenListFilters, tokenFilterExpression } from './token-filters.ts'
import { type TokenRecord, toTokenRecord } from './token-record.ts'

/** Reads of a tenant's tokens that query its partition: listings, live ones, counts. */
export function createTokenQueries({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  return {
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
  }
}
