import { validation } from './errors.ts'
import type { Input } from './input.ts'
import { optionalInteger, optionalString } from './input.ts'
import type { KeyStore, KmsKey } from './keys.ts'

/** KeyMetadata as AWS returns it. Dates are epoch seconds, as the JSON 1.1 protocol sends them. */
export function keyMetadata(key: KmsKey, store: KeyStore): Record<string, unknown> {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate / 1000,
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate !== undefined && { DeletionDate: key.deletionDate / 1000 }),
    ...(key.pendingWindowInDays !== undefined && {
      PendingDeletionWindowInDays: key.pendingWindowInDays,
    }),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...algorithms(key),
    MultiRegion: key.multiRegion,
    ...(key.multiRegion && { MultiRegionConfiguration: multiRegionConfiguration(key, store) }),
  }
}

function algorithms(key: KmsKey): Record<string, string[]> {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] }
  if (key.keySpec.startsWith('HMAC_'))
    return { MacAlgorithms: [`HMAC_SHA_${key.keySpec.slice(5)}`] }
  if (key.keyUsage === 'ENCRYPT_DECRYPT') {
    return { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }
  }
  if (key.keySpec.startsWith('RSA_')) {
    return { SigningAlgorithms: ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256'] }
  }
  return { SigningAlgorithms: [`ECDSA_SHA_${key.keySpec.slice(-3)}`] }
}

function multiRegionConfiguration(key: KmsKey, store: KeyStore) {
  const related = store.relatedKeys(key.accountId, key.keyId)
  const primary = related.find((k) => k.region === k.primaryRegion)
  return {
    MultiRegionKeyType: key.region === key.primaryRegion ? 'PRIMARY' : 'REPLICA',
    PrimaryKey: primary && { Arn: primary.arn, Region: primary.region },
    ReplicaKeys: related
      .filter((k) => k !== primary)
      .map((k) => ({ Arn: k.arn, Region: k.region })),
  }
}

/** Marker-based paging, as ListKeys and ListAliases do it. */
export function paginate<T>(
  items: T[],
  input: Input,
): { page: T[]; more: Record<string, unknown> } {
  const limit = optionalInteger(input, 'Limit', 1, 1000) ?? 100
  const marker = optionalString(input, 'Marker')
  const start = marker === undefined ? 0 : Number(marker)
  if (!Number.isInteger(start) || start < 0 || start > items.length) {
    throw validation('Marker is invalid.')
  }
  const end = start + limit
  const truncated = end < items.length
  return {
    page: items.slice(start, end),
    more: { Truncated: truncated, ...(truncated && { NextMarker: String(end) }) },
  }
}
