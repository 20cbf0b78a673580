import { paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { writeIf } from '../conditional-write.ts'
import { itemKey } from '../keys.ts'
import type { Migration } from './index.ts'

interface StoredToken {
  tenantId: string
  tokenId: string
  ancestors?: string[]
  createdBy?: { type: string; id: string }
}

/**
 * Access tokens of earlier releases name their creator (`createdBy`) but not their ancestors,
 * so revoking a token left the tokens it minted working. This fills in each one's chain of
 * ancestors, root first, by following `createdBy` through the tenant's tokens; from then on
 * revoking any of them stops it (auth/authenticate.ts). A parent whose record is gone still
 * counts as an ancestor: the child then stops, as it would have when the parent expired.
 * Tokens that already have ancestors are left as they are, so the step can run again.
 */
export const tokenAncestors: Migration = {
  id: '002-token-ancestors',
  description: 'record each access token’s ancestors in the token tree',
  async run(ctx) {
    const tokens = new Map<string, StoredToken>()
    for await (const page of paginateScan(
      { client: ctx.doc },
      {
        TableName: ctx.table,
        FilterExpression: '#type = :token AND kind = :access',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':token': 'token', ':access': 'access' },
        ProjectionExpression: 'tenantId, tokenId, ancestors, createdBy',
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        const token = item as StoredToken
        tokens.set(`${token.tenantId}|${token.tokenId}`, token)
      }
    }

    const chains = new Map<string, string[]>()
    const chainOf = (token: StoredToken, seen: Set<string>): string[] => {
      const id = `${token.tenantId}|${token.tokenId}`
      const known = token.ancestors ?? chains.get(id)
      if (known) return known
      let chain: string[] = []
      const parentId = token.createdBy?.type === 'token' ? token.createdBy.id : undefined
      if (parentId !== undefined && !seen.has(parentId)) {
        seen.add(parentId)
        const parent = tokens.get(`${token.tenantId}|${parentId}`)
        chain = [...(parent ? chainOf(parent, seen) : []), parentId]
      }
      chains.set(id, chain)
      return chain
    }

    let updated = 0
    for (const token of tokens.values()) {
      if (token.ancestors) continue
      const ancestors = chainOf(token, new Set([token.tokenId]))
      const written = await writeIf(
        ctx.doc,
        new UpdateCommand({
          TableName: ctx.table,
          Key: itemKey.token(token.tenantId, token.tokenId),
          UpdateExpression: 'SET ancestors = :ancestors',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(ancestors)',
          ExpressionAttributeValues: { ':ancestors': ancestors },
        }),
      )
      // Refused: filled in meanwhile (another run), or the token was deleted: nothing to do.
      if (written) updated += 1
    }
    return `${updated} of ${tokens.size} access token(s) given their ancestors`
  },
}
