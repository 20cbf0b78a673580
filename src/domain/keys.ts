import type { Principal } from '../auth/principal.ts'
import {
  keyAllowed,
  requireKeyAccess,
  requireProductionChange,
  requireScope,
} from '../auth/scopes.ts'
import type { Config } from '../config.ts'
import type { ValueCipher } from '../crypto/value-cipher.ts'
import { AppError } from '../errors.ts'
import { newEvent } from '../events/new-event.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import { andThen, type Maybe } from '../lib/maybe.ts'
import type { RecordCache } from '../lib/record-cache.ts'
import { describeShape, detectProvider, type Provider } from '../mock/fake-values.ts'
import type { KeyMetadataUpdate, KeyRecord, StoredVersion } from '../storage/key-items.ts'
import { type KeyRepository, VersionConflict } from '../storage/keys-repo.ts'
import { checkValue } from './key-description.ts'
import { type LifetimeQuery, lifetimeFilters, rotationDueAt } from './key-lifetime.ts'
import { mergeOverrides } from './mock-overrides.ts'

// Writers that lose a race retry under the next number after a short, growing, jittered pause,
// so a burst of concurrent writers to one key spreads out instead of colliding again.
const MAX_WRITE_ATTEMPTS = 16
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** attempt)))

export interface KeyServiceDeps {
  keys: KeyRepository
  cipher: ValueCipher
  /** Key records (metadata and ciphertext, never plaintext), within the staleness bound. */
  cache: RecordCache<KeyRecord | undefined>
  config: Pick<Config, 'mockGuardrails'>
  clock: Clock
  /** Told when a write queued an event, so the delivery worker looks soon (never awaited). */
  onEvent?: () => void
}

/** Reserved so that a name can never be mistaken for an id in `{ref}`. */
const ID_SHAPED = /^key_[0-9a-z]{26}$/

export function createKeyService({
  keys,
  cipher,
  cache,
  config,
  clock,
  onEvent = () => {},
}: KeyServiceDeps) {
  const cacheId = (tenantId: string, ref: string) => `${tenantId}|${ref}`
  const forget = (record: Pick<KeyRecord, 'tenantId' | 'keyId' | 'name'>) => {
    cache.invalidate(cacheId(record.tenantId, record.keyId))
    cache.invalidate(cacheId(record.tenantId, record.name))
  }

  /**
   * Loads a key the caller may see: missing and other tenants' keys are the same 404. At once
   * when the record is remembered within the staleness bound, or `known` (read in the same
   * round trip as the token's status); a promise when it must be read.
   */
  function load(
    principal: Principal,
    ref: string,
    known?: { record: KeyRecord | undefined },
  ): Maybe<KeyRecord> {
    if (known) return mayRead(principal, known.record)
    const record = cache.get(cacheId(principal.tenantId, ref), () =>
      keys.get(principal.tenantId, ref),
    )
    return andThen(record, (found) => mayRead(principal, found))
  }

  function mayRead(principal: Principal, record: KeyRecord | undefined): KeyRecord {
    if (!record || record.tenantId !== principal.tenantId) {
      throw new AppError('not_found', 'No such key.')
    }
    requireKeyAccess(principal, { id: record.keyId, name: record.name })
    return record
  }

  async function sealVersion(
    record: Pick<KeyRecord, 'tenantId' | 'keyId' | 'provider'>,
    version: number,
    bytes: Uint8Array,
    value: string,
  ): Promise<StoredVersion> {
    const sealed = await cipher.seal(
      { tenantId: record.tenantId, keyId: record.keyId, version },
      bytes,
    )
    return {
      version,
      sealed,
      createdAt: new Date(clock.now()).toISOString(),
      ...(record.provider === 'generic' ? { shape: describeShape(value) } : {}),
    }
  }

  return {
    load,

    async create(
      principal: Principal,
      input: {
        name: string
        value: string
        provider?: Provider
        description?: string
        tags?: string[]
        expiresAt?: string
        rotateEveryDays?: number
      },
    ) {
      requireScope(principal, 'keys:write')
      requireProductionChange(principal, 'keys')
      if (ID_SHAPED.test(input.name)) {
        throw new AppError(
          'validation_failed',
          'Names shaped like key ids (key_ + 26 characters) are reserved.',
        )
      }
      const bytes = checkValue(input.value)
      const keyId = newId('key')
      // Refused before anything is read, so it says nothing about whether the name exists.
      if (!keyAllowed(principal.keys, { id: keyId, name: input.name })) {
        throw new AppError('key_access_denied', 'This token is restricted to other key names.')
      }
      const provider = input.provider ?? detectProvider(input.value)
      const now = new Date(clock.now()).toISOString()
      const base = { tenantId: principal.tenantId, keyId, provider }
      const current = await sealVersion(base, 1, bytes, input.value)
      const record: KeyRecord = {
        ...base,
        name: input.name,
        ...(input.description ? { description: input.description } : {}),
        tags: [...new Set(input.tags ?? [])],
        currentVersion: 1,
        createdAt: now,
        updatedAt: now,
        ...(input.expiresAt ? { expiresAt: new Date(input.expiresAt).toISOString() } : {}),
        ...(input.rotateEveryDays
          ? {
              rotateEveryDays: input.rotateEveryDays,
              rotationDueAt: rotationDueAt(current.createdAt, input.rotateEveryDays),
            }
          : {}),
        current,
      }
      await keys.create(record)
      forget(record)
      return record
    },

    async list(
      principal: Principal,
      query: LifetimeQuery & { limit: number; cursor?: string; provider?: string; tag?: string },
    ) {
      requireScope(principal, 'keys:list')
      const { expiringWithinDays, rotationOverdue, unusedForDays, neverUsed, ...rest } = query
      const page = await keys.list(principal.tenantId, {
        ...rest,
        ...lifetimeFilters(
          { expiringWithinDays, rotationOverdue, unusedForDays, neverUsed },
          clock.now(),
        ),
      })
      const visible = page.items.filter((r) =>
        keyAllowed(principal.keys, { id: r.keyId, name: r.name }),
      )
      return { items: visible, nextCursor: page.nextCursor }
    },

    async get(principal: Principal, ref: string) {
      requireScope(principal, 'keys:list')
      return load(principal, ref)
    },

    /**
     * Adds a version with a new data key. Concurrent writers each get their own consecutive
     * number: a writer that loses the race re-reads and seals again under the next number.
     */
    async addVersion(principal: Principal, ref: string, value: string) {
      requireScope(principal, 'keys:write')
      requireProductionChange(principal, 'key values')
      const bytes = checkValue(value)
      let record = await load(principal, ref)
      for (let attempt = 1; ; attempt++) {
        const next = await sealVersion(record, record.currentVersion + 1, bytes, value)
        const due = record.rotateEveryDays
          ? { rotationDueAt: rotationDueAt(next.createdAt, record.rotateEveryDays) }
          : {}
        const event = newEvent(
          record.tenantId,
          'key.version_created',
          { keyId: record.keyId, name: record.name, version: next.version },
          Date.parse(next.createdAt),
        )
        try {
          await keys.addVersion(record, next, { ...due, events: [event] })
          forget(record)
          onEvent()
          return {
            ...record,
            ...due,
            currentVersion: next.version,
            current: next,
            updatedAt: next.createdAt,
          }
        } catch (error) {
          if (!(error instanceof VersionConflict) || attempt >= MAX_WRITE_ATTEMPTS) {
            if (error instanceof VersionConflict) {
              throw new AppError('conflict', 'Too many concurrent writes to this key; try again.', {
                headers: { 'retry-after': '1' },
              })
            }
            throw error
          }
          forget(record)
          await backoff(attempt)
          const fresh = await keys.get(principal.tenantId, record.keyId)
          if (!fresh) throw new AppError('not_found', 'No such key.')
          record = fresh
        }
      }
    },

    async update(principal: Principal, ref: string, changes: KeyMetadataUpdate) {
      requireScope(principal, 'keys:write')
      if (changes.mockOverrides !== undefined) {
        requireScope(principal, 'mock:write')
        requireProductionChange(principal, 'mock settings')
      }
      requireProductionChange(principal, 'keys')
      const record = await load(principal, ref)
      const update: KeyMetadataUpdate = { ...changes }
      if (changes.mockOverrides !== undefined)
        update.mockOverrides = mergeOverrides(record.mockOverrides, changes.mockOverrides, config)
      if (update.tags) update.tags = [...new Set(update.tags)]
      if (typeof update.expiresAt === 'string')
        update.expiresAt = new Date(update.expiresAt).toISOString()
      if (update.rotateEveryDays !== undefined) {
        update.rotationDueAt = update.rotateEveryDays
          ? rotationDueAt(record.current.createdAt, update.rotateEveryDays)
          : null
      }
      const now = new Date(clock.now()).toISOString()
      await keys.update(record, update, now)
      forget(record)
      const merged: Record<string, unknown> = { ...record, updatedAt: now }
      for (const [field, value] of Object.entries(update)) {
        if (value === null) delete merged[field]
        else if (value !== undefined) merged[field] = value
      }
      return merged as unknown as KeyRecord
    },

    async delete(principal: Principal, ref: string) {
      requireScope(principal, 'keys:write')
      requireProductionChange(principal, 'keys')
      const record = await load(principal, ref)
      const event = newEvent(
        record.tenantId,
        'key.deleted',
        { keyId: record.keyId, name: record.name, versions: record.currentVersion },
        clock.now(),
      )
      await keys.delete(record, [event])
      forget(record)
      onEvent()
      return record
    },

    async versions(principal: Principal, ref: string) {
      requireScope(principal, 'keys:list')
      const record = await load(principal, ref)
      return { record, versions: await keys.listVersions(principal.tenantId, record.keyId) }
    },
  }
}

export type KeyService = ReturnType<typeof createKeyService>
