import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/**
 * What the token signing key ring needs from the outside: somewhere to keep the keys (the
 * `SIGNING` partition of the table) and something that seals their private halves (envelope
 * encryption under the platform KMS key). The real implementations live with the storage and
 * crypto code; the in-memory twins below are for tests and nothing else.
 */

export interface PublicSigningJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
}

export interface StoredSigningKey {
  kid: string
  publicJwk: PublicSigningJwk
  /** The private JWK as sealed by `SigningKeySealer.seal`; opaque to everything else. */
  sealedPrivateKey: string
  createdAt: Date
  /** When a newer key took over signing; the ring also infers it from the next key's createdAt. */
  retiredAt?: Date
  /**
   * When the key was revoked in an emergency (its private half may be compromised): from then
   * on it is not published and nothing it signed is accepted.
   */
  revokedAt?: Date
}

export interface SigningKeyStore {
  list(): Promise<StoredSigningKey[]>
  /** Insert or replace by `kid`. */
  put(key: StoredSigningKey): Promise<void>
  /** Marks a key revoked (kept as its own small item, which token status reads). */
  revoke(kid: string, at: Date): Promise<void>
}

/**
 * `context.kid` is where the sealed bytes belong: a real sealer binds it (AAD, and KMS
 * EncryptionContext) so a sealed private key copied onto another `kid` fails to open.
 */
export interface SigningKeySealer {
  seal(plaintext: Uint8Array, context: { kid: string }): Promise<string>
  open(sealed: string, context: { kid: string }): Promise<Uint8Array>
}

export function createInMemorySigningKeyStore(initial: StoredSigningKey[] = []) {
  const keys = new Map<string, StoredSigningKey>(initial.map((k) => [k.kid, structuredClone(k)]))
  return {
    async list(): Promise<StoredSigningKey[]> {
      return [...keys.values()].map((k) => structuredClone(k))
    },
    async put(key: StoredSigningKey): Promise<void> {
      const revokedAt = keys.get(key.kid)?.revokedAt
      keys.set(key.kid, structuredClone({ ...key, ...(revokedAt ? { revokedAt } : {}) }))
    },
    async revoke(kid: string, at: Date): Promise<void> {
      const key = keys.get(kid)
      if (key && !key.revokedAt) key.revokedAt = at
    },
  } satisfies SigningKeyStore
}

/** AES-256-GCM under a random per-instance key: real sealing, without KMS. */
export function createInMemorySigningKeySealer(): SigningKeySealer {
  const kek = randomBytes(32)
  const prefix = 'memory-sealed.v1.'
  return {
    async seal(plaintext, { kid }) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', kek, iv).setAAD(Buffer.from(kid, 'utf8'))
      const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
      return prefix + Buffer.concat([iv, body]).toString('base64url')
    },
    async open(sealed, { kid }) {
      if (!sealed.startsWith(prefix)) throw new Error('Sealed signing key could not be opened')
      const raw = Buffer.from(sealed.slice(prefix.length), 'base64url')
      try {
        const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12))
        decipher.setAAD(Buffer.from(kid, 'utf8')).setAuthTag(raw.subarray(raw.length - 16))
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()])
      } catch {
        throw new Error('Sealed signing key could not be opened')
      }
    },
  }
}
