import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Scope } from '../auth/scopes.ts'
import type { Environment } from '../config.ts'
import { writeIf } from './conditional-write.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { epochSeconds, itemKey } from './keys.ts'

export type TrustPreset = 'github-actions' | 'kubernetes' | 'gitlab-ci' | 'generic'

export interface ClaimCondition {
  /** A JSON Pointer (RFC 6901) into the subject token's claims: `/kubernetes.io/namespace`. */
  claim: string
  /** `exact` compares the whole value; `glob` lets `*` stand for any run of characters. */
  match: 'exact' | 'glob'
  value: string
}

/** A tenant's trust in a workload identity issuer, and what an exchanged token receives. */
export interface TrustRelationshipRecord {
  tenantId: string
  relationshipId: string
  name: string
  preset: TrustPreset
  /** The subject token's exact `iss`. */
  issuer: string
  /** A fixed key set (JSON text) for issuers Keystash cannot reach; else discovery is used. */
  jwks?: string
  /** The `aud` the subject token must carry. */
  audience: string
  conditions: ClaimCondition[]
  grant: {
    scopes: Scope[]
    keys?: string[]
    environment: Environment
    tokenTtlSeconds: number
  }
  maxSubjectTokenAgeSeconds: number
  oneTimeUse: boolean
  createdAt: string
  createdBy: { type: 'user'; id: string }
  lastUsedAt?: string
}

const FIELDS = [
  'tenantId',
  'relationshipId',
  'name',
  'preset',
  'issuer',
  'jwks',
  'audience',
  'conditions',
  'grant',
  'maxSubjectTokenAgeSeconds',
  'oneTimeUse',
  'createdAt',
  'createdBy',
  'lastUsedAt',
] as const

export function toTrustRelationship(item: Record<string, unknown>): TrustRelationshipRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as TrustRelationshipRecord
}

/**
 * Trust relationships live in their tenant's partition. A second small item maps the
 * relationship id to its tenant, because the token exchange names a relationship and nothing
 * else; both are written and deleted together.
 */
export function createTrustRelationshipRepository({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async create(record: TrustRelationshipRecord): Promise<void> {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.trust(record.tenantId, record.relationshipId),
                  type: 'trust',
                  ...record,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table,
                Item: {
                  ...itemKey.trustRef(record.relationshipId),
                  type: 'trustref',
                  tenantId: record.tenantId,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      )
    },

    async get(
      tenantId: string,
      relationshipId: string,
    ): Promise<TrustRelationshipRecord | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.trust(tenantId, relationshipId),
          ConsistentRead: true,
        }),
      )
      return Item ? toTrustRelationship(Item) : undefined
    },

    /** The tenant a relationship id belongs to, if it exists. */
    async tenantOf(relationshipId: string): Promise<string | undefined> {
      const { Item } = await doc.send(
        new GetCommand({ TableName: table, Key: itemKey.trustRef(relationshipId) }),
      )
      return typeof Item?.tenantId === 'string' ? Item.tenantId : undefined
    },

    async list(
      tenantId: string,
      { limit, cursor }: { limit: number; cursor?: string },
    ): Promise<{ items: TrustRelationshipRecord[]; nextCursor: string | null }> {
      const pk = itemKey.org(tenantId).pk
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': 'TRUST#' },
          Limit: limit,
          ExclusiveStartKey: decodeCursor(cursor, { pk, skPrefix: 'TRUST#' }) as
            | Record<string, unknown>
            | undefined,
        }),
      )
      return {
        items: (page.Items ?? []).map(toTrustRelationship),
        nextCursor: encodeCursor(page.LastEvaluatedKey),
      }
    },

    /** False when there was no such relationship. */
    async delete(tenantId: string, relationshipId: string): Promise<boolean> {
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: table,
                Key: itemKey.trust(tenantId, relationshipId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            { Delete: { TableName: table, Key: itemKey.trustRef(relationshipId) } },
          ],
        }),
        { anyCancellation: true },
      )
    },

    /**
     * Records that a subject token's `jti` has been exchanged under a relationship. False when
     * it already was, by this instance or any other (a conditional write decides).
     */
    async claimSubjectToken(
      tenantId: string,
      relationshipId: string,
      jtiHash: string,
      expiresAt: Date,
    ): Promise<boolean> {
      return writeIf(
        doc,
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.subjectTokenUse(tenantId, relationshipId, jtiHash),
            type: 'jtiuse',
            expiresAt: expiresAt.toISOString(),
            // Kept past the token's expiry by the verifier's clock tolerance and then some.
            ttl: epochSeconds(expiresAt) + 3600,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },
  }
}

export type TrustRelationshipRepository = ReturnType<typeof createTrustRelationshipRepository>
