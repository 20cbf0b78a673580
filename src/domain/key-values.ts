import type { Principal } from '../auth/principal.ts'
import { requireReveal } from '../auth/roles.ts'
import { requireScope } from '../auth/scopes.ts'
import type { Config } from '../config.ts'
import type { ValueCipher } from '../crypto/value-cipher.ts'
import { AppError } from '../errors.ts'
import { fakeValue } from '../mock/fake-values.ts'
import { type ModeResolution, resolveMode } from '../mock/resolve-mode.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'
import { itemKey } from '../storage/keys.ts'
import type { KeyRecord, KeyRepository, StoredVersion } from '../storage/keys-repo.ts'
import type { LastUsedTracker } from '../storage/last-used.ts'
import type { UsageCounter } from '../storage/usage.ts'
import type { KeyService } from './keys.ts'

export interface RevealedValue {
  record: KeyRecord
  version: number
  value: string
  mode: ModeResolution
}

export interface ValueReaderDeps {
  keyService: Pick<KeyService, 'load' | 'peek'>
  keys: Pick<KeyRepository, 'getVersion'>
  cipher: ValueCipher
  mockSecret: { get(): Promise<string> }
  config: Pick<Config, 'mockGuardrails'>
  lastUsed: Pick<LastUsedTracker, 'touchFor'>
  /** Reads per key and token per day (in memory; flushed once a minute). */
  usage: Pick<UsageCounter, 'count'>
}

/**
 * The hot path: reveal one version of a key. Mock mode is decided before anything is
 * decrypted, and a mock value is computed from (tenant, key, version) alone, touching neither
 * KMS nor the ciphertext.
 */
export function createValueReader({
  keyService,
  keys,
  cipher,
  mockSecret,
  config,
  lastUsed,
  usage,
}: ValueReaderDeps) {
  async function reveal(
    principal: Principal,
    organization: OrganizationRecord | undefined,
    ref: string,
    options: { version?: number; prefetched?: Record<string, unknown> } = {},
  ): Promise<RevealedValue> {
    requireScope(principal, 'keys:read')
    requireReveal(principal, environmentOf(principal))
    const record = await keyService.load(principal, ref, options.prefetched)
    const versionNumber = options.version ?? record.currentVersion
    // The current version is in the key record: no await (this is the hot path).
    const stored =
      versionNumber === record.currentVersion
        ? record.current
        : await olderVersion(record, versionNumber)
    const mode = modeFor(principal, organization, record)

    let value: string
    if (mode.effective === 'mock') {
      value = await fakeValue({
        secret: await mockSecret.get(),
        tenantId: record.tenantId,
        keyId: record.keyId,
        version: versionNumber,
        provider: record.provider,
        ...(stored.shape ? { shape: stored.shape } : {}),
      })
    } else {
      value = utf8Once(
        await cipher.open(
          { tenantId: record.tenantId, keyId: record.keyId, version: versionNumber },
          stored.sealed,
        ),
      )
    }
    return revealed(principal, record, versionNumber, value, mode)
  }

  /**
   * `reveal` of a key's current live value from memory alone: the key record within its
   * staleness bound and the version's DEK in the data-key cache. Undefined when anything would
   * need I/O or is not a live read (mock values take the async path); the same errors as
   * `reveal` otherwise.
   */
  function revealCached(
    principal: Principal,
    organization: OrganizationRecord | undefined,
    ref: string,
  ): RevealedValue | undefined {
    requireScope(principal, 'keys:read')
    requireReveal(principal, environmentOf(principal))
    const record = keyService.peek(principal, ref)
    if (record === undefined) return undefined
    const mode = modeFor(principal, organization, record)
    if (mode.effective !== 'live') return undefined
    const version = record.currentVersion
    const plaintext = cipher.openCached(
      { tenantId: record.tenantId, keyId: record.keyId, version },
      record.current.sealed,
    )
    return plaintext === undefined
      ? undefined
      : revealed(principal, record, version, utf8Once(plaintext), mode)
  }

  function modeFor(
    principal: Principal,
    organization: OrganizationRecord | undefined,
    record: KeyRecord,
  ): ModeResolution {
    return resolveMode({
      environment: environmentOf(principal),
      guardrails: config.mockGuardrails,
      keyOverrides: record.mockOverrides,
      tenantDefaults: organization?.mockDefaults,
    })
  }

  function revealed(
    principal: Principal,
    record: KeyRecord,
    version: number,
    value: string,
    mode: ModeResolution,
  ): RevealedValue {
    lastUsed.touchFor(record, () => [
      itemKey.key(record.tenantId, record.keyId),
      itemKey.keyName(record.tenantId, record.name),
    ])
    // Both read paths (routed and fast) end here, so each read is counted once.
    usage.count(record, record.tenantId, 'key', record.keyId)
    if (principal.kind === 'access') {
      usage.count(principal, principal.tenantId, 'token', principal.tokenId)
    }
    return { record, version, value, mode }
  }

  async function olderVersion(record: KeyRecord, version: number): Promise<StoredVersion> {
    const stored =
      version >= 1 && version < record.currentVersion
        ? await keys.getVersion(record.tenantId, record.keyId, version)
        : undefined
    if (!stored) throw new AppError('not_found', `Key ${record.name} has no version ${version}.`)
    return stored
  }

  return Object.assign(reveal, { cached: revealCached })
}

/** A person's session reads what production would; applications say where they run. */
const environmentOf = (principal: Principal) => principal.environment ?? 'production'

/** The plaintext as a string; its buffer is zeroed once read. */
function utf8Once(plaintext: Buffer): string {
  const value = plaintext.toString('utf8')
  plaintext.fill(0)
  return value
}

export type ValueReader = ReturnType<typeof createValueReader>
