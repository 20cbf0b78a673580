import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import type {
  SigningKeySealer,
  SigningKeyStore,
  StoredSigningKey,
} from '../auth/signing-key-store.ts'
import { openValue, sealValue, unwrapWith } from '../crypto/envelope.ts'
import type { SealedRecord } from '../crypto/record.ts'
import type { KeyProvider } from '../kms/key-provider.ts'
import { writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'

/** Token signing keys live in their own partition, `SIGNING`, one item per key. */
export function createSigningKeyStore({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}): SigningKeyStore {
  return {
    async list() {
      const { Items = [] } = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'SIGNING' },
          ConsistentRead: true,
        }),
      )
      const revoked = new Map<string, string>()
      for (const item of Items) {
        if (String(item.sk).startsWith('REVOKED#')) revoked.set(item.kid, item.revokedAt)
      }
      return Items.filter((item) => String(item.sk).startsWith('KEY#')).map(
        (item): StoredSigningKey => {
          const revokedAt = revoked.get(item.kid)
          return {
            kid: item.kid,
            publicJwk: item.publicJwk,
            sealedPrivateKey: item.sealedPrivateKey,
            createdAt: new Date(item.createdAt),
            ...(item.retiredAt ? { retiredAt: new Date(item.retiredAt) } : {}),
            ...(revokedAt ? { revokedAt: new Date(revokedAt) } : {}),
          }
        },
      )
    },
    async revoke(kid, at) {
      await writeIf(
        doc,
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.signingKeyRevocation(kid),
            type: 'signing-key-revocation',
            kid,
            revokedAt: at.toISOString(),
          },
          // The first revocation time stays.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
    },
    async put(key) {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...itemKey.signingKey(key.kid),
            type: 'signing-key',
            kid: key.kid,
            publicJwk: key.publicJwk,
            sealedPrivateKey: key.sealedPrivateKey,
            createdAt: key.createdAt.toISOString(),
            ...(key.retiredAt ? { retiredAt: key.retiredAt.toISOString() } : {}),
          },
        }),
      )
    },
  }
}

/** The platform's own "tenant" in AAD and KMS EncryptionContext, for its token signing keys. */
export const SIGNING_KEY_PLACE = 'keystash:token-signing'

/**
 * Seals signing keys' private halves with the same envelope encryption as API keys, under the
 * platform KMS key, bound to their `kid`.
 */
export function createEnvelopeSigningKeySealer(platform: KeyProvider): SigningKeySealer {
  return {
    async seal(plaintext, { kid }) {
      const record = await sealValue({
        provider: platform,
        plaintext,
        tenantId: SIGNING_KEY_PLACE,
        keyId: kid,
        version: 1,
      })
      return JSON.stringify({
        ...record,
        wrappedDek: Buffer.from(record.wrappedDek).toString('base64'),
        iv: Buffer.from(record.iv).toString('base64'),
        ct: Buffer.from(record.ct).toString('base64'),
      })
    },
    async open(sealed, { kid }) {
      let parsed: Record<string, unknown> = {}
      try {
        parsed = JSON.parse(sealed) as Record<string, unknown>
      } catch {
        // openValue turns a malformed record into its opaque error.
      }
      const bytes = (field: string) =>
        typeof parsed[field] === 'string' ? Buffer.from(parsed[field], 'base64') : undefined
      const record = {
        ...parsed,
        wrappedDek: bytes('wrappedDek'),
        iv: bytes('iv'),
        ct: bytes('ct'),
      }
      return openValue({
        record: record as unknown as SealedRecord,
        unwrap: unwrapWith(platform),
        tenantId: SIGNING_KEY_PLACE,
        keyId: kid,
        version: 1,
      })
    },
  }
}
