import { saveState } from './persistence.ts'

export const keySpecs = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY'],
  ECC_NIST_P384: ['SIGN_VERIFY'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
} as const satisfies Record<string, readonly string[]>
export type KeySpec = keyof typeof keySpecs
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion'

/** One KMS key in one region. A multi-Region replica is its own KmsKey with the same keyId. */
export interface KmsKey {
  keyId: string
  accountId: string
  region: string
  arn: string
  keySpec: KeySpec
  keyUsage: string
  description: string
  creationDate: number
  state: KeyState
  deletionDate?: number
  pendingWindowInDays?: number
  multiRegion: boolean
  /** Region of the multi-Region primary; equal to `region` on the primary itself. */
  primaryRegion?: string
  /**
   * Automatic rotation, while enabled: its period and when it was enabled (the next rotation
   * falls a period after that). Multi-Region keys keep it on the primary only, as AWS does.
   */
  rotation?: { periodInDays: number; enabledAt: number }
  /** base64 AES-256 key; only symmetric keys have material (no asymmetric operation exists). */
  material?: string
  policy: string
}

export interface KmsAlias {
  aliasName: string
  accountId: string
  region: string
  targetKeyId: string
  creationDate: number
  lastUpdatedDate: number
}

export const keyArn = (region: string, accountId: string, keyId: string) =>
  `arn:aws:kms:${region}:${accountId}:key/${keyId}`
export const aliasArn = (region: string, accountId: string, aliasName: string) =>
  `arn:aws:kms:${region}:${accountId}:${aliasName}`

const slot = (accountId: string, region: string, name: string) => `${accountId}/${region}/${name}`

/**
 * Keys and aliases by account and region. Every change is written through to the state file
 * when there is one. Keys whose deletion date has passed disappear when next looked at.
 */
export function createKeyStore(options: {
  persistPath?: string
  initial?: { keys: KmsKey[]; aliases: KmsAlias[] }
  now: () => number
}) {
  const keys = new Map<string, KmsKey>()
  const aliases = new Map<string, KmsAlias>()
  for (const key of options.initial?.keys ?? [])
    keys.set(slot(key.accountId, key.region, key.keyId), key)
  for (const alias of options.initial?.aliases ?? []) {
    aliases.set(slot(alias.accountId, alias.region, alias.aliasName), alias)
  }

  const persist = () => {
    if (options.persistPath) {
      saveState(options.persistPath, { keys: [...keys.values()], aliases: [...aliases.values()] })
    }
  }

  const purgeDeleted = () => {
    const now = options.now()
    let changed = false
    for (const [id, key] of keys) {
      if (
        key.state === 'PendingDeletion' &&
        key.deletionDate !== undefined &&
        key.deletionDate <= now
      ) {
        keys.delete(id)
        for (const [name, alias] of aliases) {
          const sameKey = alias.targetKeyId === key.keyId && alias.accountId === key.accountId
          if (sameKey && alias.region === key.region) aliases.delete(name)
        }
        changed = true
      }
    }
    if (changed) persist()
  }

  return {
    /** Writes the state file now (at start, so it exists with its 0600 mode from the outset). */
    flush: persist,
    getKey(accountId: string, region: string, keyId: string): KmsKey | undefined {
      purgeDeleted()
      return keys.get(slot(accountId, region, keyId))
    },
    listKeys(accountId: string, region: string): KmsKey[] {
      purgeDeleted()
      return [...keys.values()].filter((k) => k.accountId === accountId && k.region === region)
    },
    /** The primary and every replica of a multi-Region key. */
    relatedKeys(accountId: string, keyId: string): KmsKey[] {
      purgeDeleted()
      return [...keys.values()].filter((k) => k.accountId === accountId && k.keyId === keyId)
    },
    /** Stores a new or changed key (keys are changed in place, then saved here). */
    saveKey(key: KmsKey): void {
      keys.set(slot(key.accountId, key.region, key.keyId), key)
      persist()
    },
    getAlias(accountId: string, region: string, aliasName: string): KmsAlias | undefined {
      purgeDeleted()
      return aliases.get(slot(accountId, region, aliasName))
    },
    listAliases(accountId: string, region: string): KmsAlias[] {
      purgeDeleted()
      return [...aliases.values()].filter((a) => a.accountId === accountId && a.region === region)
    },
    saveAlias(alias: KmsAlias): void {
      aliases.set(slot(alias.accountId, alias.region, alias.aliasName), alias)
      persist()
    },
  }
}

export type KeyStore = ReturnType<typeof createKeyStore>
