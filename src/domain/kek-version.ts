import type { SealedRecord } from '../crypto/record.ts'
import { externalIdFor, type KekRecord } from '../kms/kek-records.ts'
import type { KmsKekSpec } from '../kms/kek-validation.ts'
import { parseRawMaterial, rawKeyId } from '../kms/raw-key.ts'
import type { Clock } from '../lib/clock.ts'

/** What a tenant asks for in `PUT /v1/org/encryption`. */
export type EncryptionInput = { dataKeyCacheTtlSeconds?: number | null } & (
  | { provider: 'platform' }
  | { provider: 'aws-kms'; keyArn: string; replicaArns?: string[]; roleArn?: string }
  | { provider: 'raw'; material: string }
)

export interface KekVersionDeps {
  validateKms(tenantId: string, spec: KmsKekSpec): Promise<void>
  /** Seals a raw key's material under the platform key. */
  sealMaterial(tenantId: string, version: number, material: Uint8Array): Promise<SealedRecord>
  config: { aws: { platformKeyId: string } }
  clock: Clock
}

/**
 * The record of a new KEK version, once the KEK has passed validation. Raw material is
 * checked, sealed under the platform key and zeroed here; it is never stored otherwise.
 */
export async function buildKekVersion(
  deps: KekVersionDeps,
  tenantId: string,
  version: number,
  input: EncryptionInput,
): Promise<KekRecord> {
  const base = {
    tenantId,
    version,
    status: 'active' as const,
    createdAt: new Date(deps.clock.now()).toISOString(),
  }
  if (input.provider === 'platform') {
    return { ...base, provider: 'platform', keyId: deps.config.aws.platformKeyId }
  }
  if (input.provider === 'aws-kms') {
    const role = input.roleArn
      ? {
          roleArn: input.roleArn,
          externalId: externalIdFor(tenantId),
          sessionName: `keystash-${tenantId}`,
        }
      : undefined
    const replicaArns = input.replicaArns ?? []
    await deps.validateKms(tenantId, {
      keyArn: input.keyArn,
      replicaArns,
      ...(role ? { role } : {}),
    })
    return {
      ...base,
      provider: 'aws-kms',
      keyId: input.keyArn,
      ...(replicaArns.length ? { replicaArns } : {}),
      ...(role ? { roleArn: role.roleArn, externalId: role.externalId } : {}),
    }
  }
  const material = parseRawMaterial(input.material)
  try {
    return {
      ...base,
      provider: 'raw',
      keyId: rawKeyId(material),
      sealedMaterial: await deps.sealMaterial(tenantId, version, material),
    }
  } finally {
    material.fill(0)
  }
}

/**
 * Whether `input` names the KEK already active (then only settings change, and no version is
 * added). Another replica list or role is another way to reach the key, and so a new version.
 */
export function sameKek(active: KekRecord, input: EncryptionInput, tenantId: string): boolean {
  if (input.provider !== active.provider) return false
  if (input.provider === 'platform') return true
  if (input.provider === 'raw') {
    const material = parseRawMaterial(input.material)
    const same = rawKeyId(material) === active.keyId
    material.fill(0)
    return same
  }
  return (
    input.keyArn === active.keyId &&
    (input.replicaArns ?? []).join(',') === (active.replicaArns ?? []).join(',') &&
    (input.roleArn ?? '') === (active.roleArn ?? '') &&
    (!input.roleArn || active.externalId === externalIdFor(tenantId))
  )
}
