import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { MemberRole } from '../auth/roles.ts'
import { type OrganizationRecord, toOrganization } from './accounts.ts'
import { type KeyRecord, keyRefItem, toKeyRecord } from './key-items.ts'
import { type ItemKey, itemKey } from './keys.ts'
import { memberRoleOf, toMembership } from './members.ts'
import { type TokenRecord, toTokenRecord } from './token-record.ts'

export interface TokenStatus {
  token: TokenRecord | undefined
  organization: OrganizationRecord | undefined
  /** The records of the token's ancestors that exist, by token id. */
  ancestors: ReadonlyMap<string, TokenRecord>
  /** When the key that signed the token was revoked in an emergency, if it was. */
  signingKeyRevokedAt: string | undefined
  /**
   * For a session: its person's role in the organization, undefined when they are no longer a
   * member. Read in the same round trip as the token, so a role change or a removal reaches
   * every instance within the record cache's bound.
   */
  member?: MemberRole | undefined
  /**
   * For a token issued through a trust relationship: whether the relationship still exists.
   * Read in the same round trip as the token, like its ancestors.
   */
  trustActive?: boolean
}

/** What the token itself says about where its status lives (its verified claims). */
export interface TokenStatusQuery {
  tenantId: string
  tokenId: string
  /** The ancestors named in the token; tokens of earlier releases name none. */
  ancestors?: readonly string[] | undefined
  /** The `kid` of the key that signed it. */
  signingKeyId?: string | undefined
  /** The trust relationship that issued it (or the token it descends from), if any. */
  trustId?: string | undefined
  /** A session's person (`sub`): their membership is read with the session's status. */
  userId?: string | undefined
}

/** What `readTokenAndKey` found: the token's status, and the key when one was asked for. */
export interface TokenAndKey {
  status: TokenStatus
  /** Present when a key was asked for; `record` is undefined when no such key exists. */
  key?: { record: KeyRecord | undefined }
}

/**
 * Reads what decides whether a token may be used in one BatchGetItem: its record, its
 * organization, its ancestors' records (a revoked ancestor stops it, so revoking a token
 * cascades without a write per descendant) and the revocation mark of its signing key, plus
 * the API key the request is about (`keyRef`, a key id or name), so a value read makes one
 * round trip. Strongly consistent: a revocation written by any instance is seen by
 * the next read. A token of an earlier release names no ancestors in its claims; when its
 * record has them (`npm run migrate` fills them in), they take a second read.
 */
export function createTokenStatusReader({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  async function batchGet(
    keys: ItemKey[],
    found: Map<string, Record<string, unknown>>,
  ): Promise<void> {
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
  }

  return async function readTokenAndKey(
    query: TokenStatusQuery,
    keyRef?: string,
  ): Promise<TokenAndKey> {
    const { tenantId, tokenId, signingKeyId, trustId, userId } = query
    const tokenKey = itemKey.token(tenantId, tokenId)
    const orgKey = itemKey.org(tenantId)
    const claimed = query.ancestors ?? []
    const trustKey = trustId === undefined ? undefined : itemKey.trust(tenantId, trustId)
    // A person's user item comes along for organizations `npm run migrate` has not given
    // memberships yet: their user item still names the one organization they own.
    const memberKeys = userId ? [itemKey.member(tenantId, userId), itemKey.user(userId)] : []
    const keyKey = keyRef === undefined ? undefined : keyRefItem(tenantId, keyRef)
    const keys: ItemKey[] = [
      tokenKey,
      orgKey,
      ...claimed.map((id) => itemKey.token(tenantId, id)),
      ...(signingKeyId ? [itemKey.signingKeyRevocation(signingKeyId)] : []),
      ...(trustKey ? [trustKey] : []),
      ...memberKeys,
      ...(keyKey ? [keyKey] : []),
    ]
    const found = new Map<string, Record<string, unknown>>()
    await batchGet(dedupe(keys), found)
    const item = found.get(`${tokenKey.pk}|${tokenKey.sk}`)
    const token = item ? toTokenRecord(item) : undefined
    const unread = (token?.ancestors ?? []).filter((id) => !claimed.includes(id))
    if (unread.length > 0) {
      await batchGet(
        unread.map((id) => itemKey.token(tenantId, id)),
        found,
      )
    }
    const ancestors = new Map<string, TokenRecord>()
    for (const id of [...claimed, ...unread]) {
      const key = itemKey.token(tenantId, id)
      const ancestor = found.get(`${key.pk}|${key.sk}`)
      if (ancestor) ancestors.set(id, toTokenRecord(ancestor))
    }
    const org = found.get(`${orgKey.pk}|${orgKey.sk}`)
    const revocation = signingKeyId
      ? found.get(keyId(itemKey.signingKeyRevocation(signingKeyId)))
      : undefined
    const keyItem = keyKey && found.get(keyId(keyKey))
    return {
      status: {
        token,
        organization: org ? toOrganization(org) : undefined,
        ancestors,
        signingKeyRevokedAt: revocation ? String(revocation.revokedAt) : undefined,
        ...(trustKey ? { trustActive: found.has(keyId(trustKey)) } : {}),
        ...(userId ? { member: memberFrom(found, tenantId, userId) } : {}),
      },
      ...(keyKey ? { key: { record: keyItem ? toKeyRecord(keyItem) : undefined } } : {}),
    }
  }
}

const keyId = (key: ItemKey) => `${key.pk}|${key.sk}`

function memberFrom(
  found: Map<string, Record<string, unknown>>,
  tenantId: string,
  userId: string,
): MemberRole | undefined {
  const membership = found.get(keyId(itemKey.member(tenantId, userId)))
  if (membership) return memberRoleOf(toMembership(membership))
  const user = found.get(keyId(itemKey.user(userId)))
  return user?.tenantId === tenantId ? { role: 'owner', productionReveal: false } : undefined
}

/** BatchGetItem refuses a request that names one key twice. */
function dedupe(keys: ItemKey[]): ItemKey[] {
  const seen = new Set<string>()
  return keys.filter((key) => {
    const id = keyId(key)
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

export type TokenStatusReader = ReturnType<typeof createTokenStatusReader>
