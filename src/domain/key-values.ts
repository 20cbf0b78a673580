import type { Principal } from '../auth/principal.ts'
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
import type { KeyService } from './keys.ts'

export interface RevealedValue {
  record: KeyRecord
  version: number
  value: string
  mode: ModeResolution
}

export interface ValueReaderDeps {
  keyService: Pick<KeyService, 'load'>
  keys: Pick<KeyRepository, 'getVersion'>
  cipher: ValueCipher
  mockSecret: { get(): Promise<string> }
  config: Pick<Config, 'mockGuardrails'>
  lastUsed: Pick<LastUsedTracker, 'touch'>
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
}: ValueReaderDeps) {
  return async function reveal(
    principal: Principal,
    organization: OrganizationRecord | undefined,
    ref: string,
    options: { version?: number; prefetched?: Record<string, unknown> } = {},
  ): Promise<RevealedValue> {
    requireScope(principal, 'keys:read')
    const record = await keyService.load(principal, ref, options.prefetched)
    const versionNumber = options.version ?? record.currentVersion
    // The current version is in the key record: no await (this is the hot path).
    const stored =
      versionNumber === record.currentVersion
        ? record.current
        : await olderVersion(record, versionNumber)

    // A person's session reads what production would; applications say where they run.
    const environment = principal.environment ?? 'production'
    const mode = resolveMode({
      environment,
      guardrails: config.mockGuardrails,
      keyOverrides: record.mockOverrides,
      tenantDefaults: organization?.mockDefaults,
    })

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
      const plaintext = await cipher.open(
        { tenantId: record.tenantId, keyId: record.keyId, version: versionNumber },
        stored.sealed,
      )
      value = plaintext.toString('utf8')
      plaintext.fill(0)
    }
    lastUsed.touch(itemKey.key(record.tenantId, record.keyId))
    lastUsed.touch(itemKey.keyName(record.tenantId, record.name))
    return { record, version: versionNumber, value, mode }
  }

  async function olderVersion(record: KeyRecord, version: number): Promise<StoredVersion> {
    const stored =
      version >= 1 && version < record.currentVersion
        ? await keys.getVersion(record.tenantId, record.keyId, version)
        : undefined
    if (!stored) throw new AppError('not_found', `Key ${record.name} has no version ${version}.`)
    return stored
  }
}

export type ValueReader = ReturnType<typeof createValueReader>
