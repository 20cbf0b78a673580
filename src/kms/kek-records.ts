import type { SealedRecord } from '../crypto/record.ts'
import type { KekProviderKind, KekRef } from './key-provider.ts'

/**
 * A tenant's key-encryption keys, one record per version (DynamoDB `ORG#<tenant>` /
 * `KEK#<version>`). Version 1 of every tenant is the platform key: it has no record until the
 * tenant first changes its KEK, so records sealed before bring-your-own-key existed (they say
 * `{ provider: 'platform', version: 1 }`) need no migration. Each change adds the next version.
 *
 * - `active`: new writes use it; exactly one per tenant once any record exists.
 * - `retiring`: replaced, still opens records until the re-encryption job has moved them all.
 * - `retired`: history only; never called again (raw material is erased at that point).
 */
export type KekStatus = 'active' | 'retiring' | 'retired'

export const PLATFORM_KEK_VERSION = 1

/**
 * How long KEK records may be served from memory. They change only through rotation, which
 * is built to tolerate instances that have not yet seen a change (the job starts after this
 * bound and makes a later pass), so they are cached for at least a second even when key
 * records are not: a read that misses the data-key cache then costs no extra query.
 */
export const kekStalenessMs = (recordStalenessMs: number) => Math.max(recordStalenessMs, 1000)

export interface KekRecord {
  tenantId: string
  version: number
  provider: KekProviderKind
  /** aws-kms: the key ARN; platform: the platform key id; raw: `raw-<fingerprint>`. */
  keyId: string
  /** aws-kms: multi-Region replicas of `keyId`, tried in order when its region fails. */
  replicaArns?: string[]
  /** aws-kms: a role in the tenant's account to assume (with `externalId`) to call KMS. */
  roleArn?: string
  externalId?: string
  /** raw: the 32 bytes, sealed under the platform key (never stored in plaintext). */
  sealedMaterial?: SealedRecord
  status: KekStatus
  createdAt: string
  retiredAt?: string
  /** On the active record: the tenant's data-key cache TTL, when lower than the server's. */
  dataKeyCacheTtlSeconds?: number
  /** The re-encryption job that moves older records to this version. */
  jobId?: string
}

/** Where a raw KEK's material is sealed: its AAD and KMS context name this place. */
export const RAW_MATERIAL_KEY_ID = 'tenant-kek'

/**
 * The external id Keystash passes when assuming a tenant's role. Keystash sets it, not the
 * tenant: a tenant who could choose it could name another tenant's role and id (the
 * confused-deputy problem external ids exist to prevent).
 */
export const externalIdFor = (tenantId: string) => `keystash-${tenantId}`

export function implicitPlatformKek(tenantId: string, platformKeyId: string): KekRecord {
  return {
    tenantId,
    version: PLATFORM_KEK_VERSION,
    provider: 'platform',
    keyId: platformKeyId,
    status: 'active',
    createdAt: '',
  }
}

/** The version new writes use: the active record, or the implicit platform key. */
export function activeKek(records: KekRecord[], tenantId: string, platformKeyId: string) {
  if (records.length === 0) return implicitPlatformKek(tenantId, platformKeyId)
  const active = records.find((r) => r.status === 'active')
  if (!active) throw new Error(`tenant ${tenantId} has KEK records but none is active`)
  return active
}

/** The record for a version, including the implicit platform version 1. */
export function kekVersion(
  records: KekRecord[],
  version: number,
  tenantId: string,
  platformKeyId: string,
): KekRecord | undefined {
  const found = records.find((r) => r.version === version)
  if (found) return found
  if (version === PLATFORM_KEK_VERSION && !records.some((r) => r.version === version)) {
    return {
      ...implicitPlatformKek(tenantId, platformKeyId),
      status: records.length ? 'retiring' : 'active',
    }
  }
  return undefined
}

export const kekRefOf = (r: KekRecord): KekRef =>
  Object.freeze({ provider: r.provider, keyId: r.keyId, version: r.version })

export const nextKekVersion = (records: KekRecord[]) =>
  Math.max(PLATFORM_KEK_VERSION, ...records.map((r) => r.version)) + 1
