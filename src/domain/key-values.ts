import type { Principal } from '../auth/principal.ts'
import { requireReveal } from '../auth/roles.ts'
import { requireScope } from '../auth/scopes.ts'
import type { Config } from '../config.ts'
import type { ValueCipher } from '../crypto/value-cipher.ts'
import { AppError } from '../errors.ts'
import { andThen, type Maybe } from '../lib/maybe.ts'
import { fakeValue } from '../mock/fake-values.ts'
import { type ModeResolution, resolveMode } from '../mock/resolve-mode.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'
import type { KeyRecord, StoredVersion } from '../storage/key-items.ts'
import type { KeyRepository } from '../storage/keys-repo.ts'
import type { LastUsedTracker } from '../storage/last-used.ts'
import type { UsageCounter } from '../storage/usage.ts'
import type { KeyService } from './keys.ts'

export interface RevealedValue {
  record: KeyRecord
  version: number
  value: string
  mode: ModeResolution
}

export interface RevealOptions {
  /** A version other than the current one. */
  version?: number | undefined
  /** The key record, when it was read in the same round trip as the token's status. */
  key?: { record: KeyRecord | undefined } | undefined
}

export interface ValueReaderDeps {
  keyService: Pick<KeyService, 'load'>
  keys: Pick<KeyRepository, 'getVersion'>
  cipher: Pick<ValueCipher, 'open'>
  mockSecret: { get(): Promise<string> }
  config: Pick<Config, 'mockGuardrails'>
  lastUsed: Pick<LastUsedTracker, 'touchKey'>
  /** Reads per key and token per day (in memory; flushed once a minute). */
  usage: Pick<UsageCounter, 'count'>
}

/**
 * The domain half of a value read (reads/value-read.ts is the whole of it): may this
 * principal read values, load the key, pick the version, resolve the mode, then open the
 * value or compute its mock. Mock mode is decided before anything is decrypted, and a mock
 * value is computed from (tenant, key, version) alone, touching neither KMS nor the
 * ciphertext. Each stage answers at once from memory when it can (the key record cache, the
 * current version inside the key record, the data-key cache) and waits only when it must.
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
  function reveal(
    principal: Principal,
    organization: OrganizationRecord | undefined,
    ref: string,
    options: RevealOptions = {},
  ): Maybe<RevealedValue> {
    authorize(principal)
    return andThen(keyService.load(principal, ref, options.key), (record) => {
      const version = options.version ?? record.currentVersion
      return andThen(storedVersion(record, version), (stored) => {
        const mode = modeFor(principal, organization, record)
        return andThen(openOrMock(record, version, stored, mode), (value) =>
          revealed(principal, record, version, value, mode),
        )
      })
    })
  }

  /** Whether the principal may read values at all, before anything is loaded. */
  function authorize(principal: Principal): void {
    requireScope(principal, 'keys:read')
    requireReveal(principal, environmentOf(principal))
  }

  /** The current version is in the key record: no read for it (the common case). */
  function storedVersion(record: KeyRecord, version: number): Maybe<StoredVersion> {
    return version === record.currentVersion ? record.current : olderVersion(record, version)
  }

  function openOrMock(
    record: KeyRecord,
    version: number,
    stored: StoredVersion,
    mode: ModeResolution,
  ): Maybe<string> {
    if (mode.effective === 'mock') return mockValue(record, version, stored)
    const place = { tenantId: record.tenantId, keyId: record.keyId, version }
    return andThen(cipher.open(place, stored.sealed), utf8Once)
  }

  async function mockValue(record: KeyRecord, version: number, stored: StoredVersion) {
    return fakeValue({
      secret: await mockSecret.get(),
      tenantId: record.tenantId,
      keyId: record.keyId,
      version,
      provider: record.provider,
      ...(stored.shape ? { shape: stored.shape } : {}),
    })
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
    lastUsed.touchKey(record)
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

  return reveal
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
