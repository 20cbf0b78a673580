import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { type OrganizationRecord, toOrganization } from './accounts.ts'
import { type ItemKey, itemKey } from './keys.ts'
import { type TokenRecord, toTokenRecord } from './tokens.ts'

export interface TokenStatus {
  token: TokenRecord | undefined
  organization: OrganizationRecord | undefined
  /**
   * For a token issued through a trust relationship: whether the relationship still exists.
   * Read in the same round trip as the token, like an ancestor's status would be.
   */
  trustActive?: boolean
}

/**
 * Reads what decides whether a token may be used (its record and its organization) in one
 * BatchGetItem, plus any other items of the same request (`extra`, e.g. the API key being
 * read), so the hot path makes one round trip. Strongly consistent: a revocation written by
 * any instance is seen by the next read.
 */
export function createTokenStatusReader({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return async function readTokenStatus(
    tenantId: string,
    tokenId: string,
    extra: ItemKey[] = [],
    trustId?: string,
  ): Promise<{ status: TokenStatus; extra: Map<string, Record<string, unknown>> }> {
    const tokenKey = itemKey.token(tenantId, tokenId)
    const orgKey = itemKey.org(tenantId)
    const trustKey = trustId === undefined ? undefined : itemKey.trust(tenantId, trustId)
    let keys: ItemKey[] = [tokenKey, orgKey, ...(trustKey ? [trustKey] : []), ...extra]
    const found = new Map<string, Record<string, unknown>>()
    // BatchGetItem may return some keys as unprocessed under load; ask again for those.
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** attempt)))
      if (attempt > 8) throw new Error('BatchGetItem left keys unprocessed after retries')
      const result = await doc.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      )
      for (const item of result.Responses?.[table] ?? []) found.set(`${item.pk}|${item.sk}`, item)
      keys = (result.UnprocessedKeys?.[table]?.Keys ?? []) as ItemKey[]
    }
    const token = found.get(`${tokenKey.pk}|${tokenKey.sk}`)
    const org = found.get(`${orgKey.pk}|${orgKey.sk}`)
    return {
      status: {
        token: token ? toTokenRecord(token) : undefined,
        organization: org ? toOrganization(org) : undefined,
        ...(trustKey ? { trustActive: found.has(`${trustKey.pk}|${trustKey.sk}`) } : {}),
      },
      extra: found,
    }
  }
}

export type TokenStatusReader = ReturnType<typeof createTokenStatusReader>
