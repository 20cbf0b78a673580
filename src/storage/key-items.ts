import type { SealedRecord } from '../crypto/record.ts'
import { isId } from '../ids.ts'
import type { Provider, ValueShape } from '../mock/fake-values.ts'
import type { ModeSettings } from '../mock/resolve-mode.ts'
import { type ItemKey, itemKey } from './keys.ts'

// What a key is stored as: its record, its items, and how a listing filters them
// (keys-repo.ts reads and writes them).

/** One sealed version of a key's value, and what mock mode may know about it. */
export interface StoredVersion {
  version: number
  sealed: SealedRecord
  /** Length and character classes, kept only for generic keys (their fakes mirror it). */
  shape?: ValueShape
  createdAt: string
}

export interface KeyRecord {
  tenantId: string
  keyId: string
  name: string
  provider: Provider
  description?: string
  tags: string[]
  currentVersion: number
  createdAt: string
  updatedAt: string
  lastUsedAt?: string
  mockOverrides?: ModeSettings
  /** When the provider key itself stops working (the provider's expiry, not ours). */
  expiresAt?: string
  /** A person replaces the provider key this often; `rotationDueAt` follows from it. */
  rotateEveryDays?: number
  /** The current version's creation plus `rotateEveryDays`. */
  rotationDueAt?: string
  current: StoredVersion
}

export interface KeyMetadataUpdate {
  /** null removes the description. */
  description?: string | null
  tags?: string[]
  provider?: Provider
  mockOverrides?: ModeSettings
  /** null removes it. */
  expiresAt?: string | null
  rotateEveryDays?: number | null
  rotationDueAt?: string | null
}

/** Listing filters; each is a moment already worked out by the caller. */
export interface KeyListFilters {
  provider?: string
  tag?: string
  /** Keys whose provider key expires at or before this moment (expired ones included). */
  expiringBefore?: string
  /** Keys whose replacement was due at or before this moment. */
  rotationDueBefore?: string
  /** Keys not used since this moment (and created before it). */
  unusedSince?: string
  neverUsed?: boolean
}

/** What reminders depend on, besides use (see domain/reminders.ts). */
export const LIFETIME_FIELDS = ['expiresAt', 'rotateEveryDays', 'rotationDueAt'] as const

const KEY_FIELDS = [
  'tenantId',
  'keyId',
  'name',
  'provider',
  'description',
  'tags',
  'currentVersion',
  'createdAt',
  'updatedAt',
  'lastUsedAt',
  'mockOverrides',
  'expiresAt',
  'rotateEveryDays',
  'rotationDueAt',
  'current',
] as const

export function toKeyRecord(item: Record<string, unknown>): KeyRecord {
  const out: Record<string, unknown> = {}
  for (const field of KEY_FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as KeyRecord
}

/** The item a reference names: a key id (`key_...`) or a key name. */
export function keyRefItem(tenantId: string, ref: string): ItemKey {
  return isId('key', ref) ? itemKey.key(tenantId, ref) : itemKey.keyName(tenantId, ref)
}

/**
 * The three items a new key is stored as: under its id, under its name, and its first version.
 * `create` writes them in one transaction; bulk loaders (tests, benchmarks) may batch them.
 */
export function newKeyItems(record: KeyRecord) {
  return [
    { ...itemKey.key(record.tenantId, record.keyId), type: 'key', ...record },
    { ...itemKey.keyName(record.tenantId, record.name), type: 'key', ...record },
    versionItem(record.tenantId, record.keyId, record.current),
  ]
}

/** The FilterExpression of a listing: every given filter must hold. */
export function keyFilterExpression(filter: KeyListFilters) {
  const filters: string[] = []
  const values: Record<string, unknown> = {}
  if (filter.provider) {
    filters.push('provider = :provider')
    values[':provider'] = filter.provider
  }
  if (filter.tag) {
    filters.push('contains(tags, :tag)')
    values[':tag'] = filter.tag
  }
  if (filter.expiringBefore) {
    filters.push('expiresAt <= :expiringBefore')
    values[':expiringBefore'] = filter.expiringBefore
  }
  if (filter.rotationDueBefore) {
    filters.push('rotationDueAt <= :rotationDueBefore')
    values[':rotationDueBefore'] = filter.rotationDueBefore
  }
  if (filter.unusedSince) {
    filters.push(
      '(lastUsedAt < :unusedSince OR (attribute_not_exists(lastUsedAt) AND createdAt < :unusedSince))',
    )
    values[':unusedSince'] = filter.unusedSince
  }
  if (filter.neverUsed) filters.push('attribute_not_exists(lastUsedAt)')
  return { filters, values }
}

export function versionItem(tenantId: string, keyId: string, version: StoredVersion) {
  return {
    ...itemKey.keyVersion(tenantId, keyId, version.version),
    type: 'key-version',
    keyId,
    ...version,
  }
}

export function toStoredVersion(item: Record<string, unknown>): StoredVersion {
  const { version, sealed, shape, createdAt } = item as unknown as StoredVersion
  return { version, sealed, createdAt, ...(shape ? { shape } : {}) }
}
