import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose'
import { type Clock, systemClock } from '../lib/clock.ts'
import type {
  PublicSigningJwk,
  SigningKeySealer,
  SigningKeyStore,
  StoredSigningKey,
} from './signing-key-store.ts'

export interface SigningKeyRingOptions {
  store: SigningKeyStore
  sealer: SigningKeySealer
  clock?: Clock
  /** The longest lifetime of any token this ring signs; `issueToken` enforces it. */
  maxTokenLifetimeSeconds: number
  /** Age at which the signer is replaced on next use (default 30 days). */
  rotateAfterSeconds?: number
  /** How stale this instance's view of the stored keys may get (default 60 s). */
  reloadAfterSeconds?: number
  /**
   * Extra time a retired public key stays published beyond `retiredAt + maxTokenLifetime`:
   * covers clock tolerance and instances that kept signing with it until their next reload.
   * Default: reloadAfterSeconds + 300.
   */
  retentionGraceSeconds?: number
}

export interface PublishedJwk extends PublicSigningJwk {
  kid: string
  alg: 'EdDSA'
  use: 'sig'
}

export interface SigningKeyRing {
  readonly clock: Clock
  readonly maxTokenLifetimeSeconds: number
  /** The newest active key, created (or rotated) first if there is none or it is too old. */
  signingKey(): Promise<{ kid: string; privateKey: CryptoKey }>
  /** A published public key; an unknown kid triggers one rate-limited reload first. */
  publicKey(kid: string): Promise<CryptoKey | undefined>
  /** Whether `kid` is published now, by this instance's current view (no I/O). */
  hasPublicKey(kid: string): boolean
  /** Whether `kid` was revoked in an emergency, by this instance's current view (no I/O). */
  isRevoked(kid: string): boolean
  jwks(): Promise<{ keys: PublishedJwk[] }>
  /** Makes a new key the signer and returns its kid; the old ones retire. */
  rotate(): Promise<string>
  /**
   * The emergency form of `rotate`: a new key signs from now on and every older key is revoked
   * at once. The JWKS drops them, and tokens they signed are refused on every instance within
   * the token-status staleness bound (the mark is read with each token's status).
   */
  revokePrevious(): Promise<{ kid: string; revoked: string[] }>
  reload(): Promise<void>
}

const DAY = 86_400
// An unknown kid is usually a key another instance just created; refetching the list for it
// at most this often keeps forged kids from turning into one storage read each.
const UNKNOWN_KID_RELOAD_MS = 5_000

export async function createSigningKeyRing(
  options: SigningKeyRingOptions,
): Promise<SigningKeyRing> {
  const { store, sealer, maxTokenLifetimeSeconds } = options
  const clock = options.clock ?? systemClock
  const rotateAfterMs = (options.rotateAfterSeconds ?? 30 * DAY) * 1000
  const reloadAfterSeconds = options.reloadAfterSeconds ?? 60
  const retentionMs =
    (maxTokenLifetimeSeconds + (options.retentionGraceSeconds ?? reloadAfterSeconds + 300)) * 1000
  if (!(maxTokenLifetimeSeconds > 0) || !(rotateAfterMs > 0)) {
    throw new Error('maxTokenLifetimeSeconds and rotateAfterSeconds must be positive')
  }

  // Ordered oldest first by (createdAt, kid), so every instance agrees on "newest".
  let keys: { stored: StoredSigningKey; retiredAt: number | undefined }[] = []
  let loadedAt = Number.NEGATIVE_INFINITY
  let reloading: Promise<void> | undefined
  let rotating: Promise<string> | undefined
  let rotations = 0
  let signer: { kid: string; privateKey: Promise<CryptoKey> } | undefined
  const publicKeys = new Map<string, Promise<CryptoKey>>()

  function setKeys(stored: StoredSigningKey[]) {
    const sorted = [...stored].sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.kid < b.kid ? -1 : 1),
    )
    // A key is retired once a newer one exists, even if nobody recorded it (a crash mid-rotate,
    // two instances rotating at once): whichever of the two times comes first.
    keys = sorted.map((key, i) => {
      const times = [key.retiredAt?.getTime(), sorted[i + 1]?.createdAt.getTime()]
      const known = times.filter((t): t is number => t !== undefined)
      return { stored: key, retiredAt: known.length > 0 ? Math.min(...known) : undefined }
    })
  }

  const active = () =>
    keys.findLast((k) => k.retiredAt === undefined && k.stored.revokedAt === undefined)?.stored
  const published = (now: number) =>
    keys.filter(
      (k) =>
        k.stored.revokedAt === undefined &&
        (k.retiredAt === undefined || now < k.retiredAt + retentionMs),
    )

  async function reload(): Promise<void> {
    reloading ??= (async () => {
      try {
        // A rotation that lands while the list is in flight would be undone by a stale list.
        for (;;) {
          const before = rotations
          const stored = await store.list()
          if (before !== rotations) continue
          loadedAt = clock.now()
          setKeys(stored)
          return
        }
      } finally {
        reloading = undefined
      }
    })()
    return reloading
  }

  async function reloadIfOlderThan(ms: number) {
    if (clock.now() - loadedAt >= ms) await reload()
  }

  async function rotate(): Promise<string> {
    rotating ??= (async () => {
      try {
        return await createKey()
      } finally {
        rotating = undefined
      }
    })()
    return rotating
  }

  async function createKey(): Promise<string> {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const publicJwk = toPublicJwk(await exportJWK(pair.publicKey))
    const kid = await calculateJwkThumbprint(publicJwk)
    const privateJwk = await exportJWK(pair.privateKey)
    const plaintext = new TextEncoder().encode(JSON.stringify(privateJwk))
    let sealedPrivateKey: string
    try {
      sealedPrivateKey = await sealer.seal(plaintext, { kid })
    } finally {
      plaintext.fill(0)
    }
    // From here on only a non-extractable copy of the private key is kept.
    const privateKey = await importJWK(privateJwk, 'EdDSA', { extractable: false })
    if (privateKey instanceof Uint8Array) throw new Error('Expected an Ed25519 CryptoKey')

    // Strictly after every existing key, even on a coarse or frozen clock.
    const newest = keys.at(-1)?.stored.createdAt.getTime() ?? Number.NEGATIVE_INFINITY
    const now = clock.now()
    const created: StoredSigningKey = {
      kid,
      publicJwk,
      sealedPrivateKey,
      createdAt: new Date(Math.max(now, newest + 1)),
    }
    await store.put(created)
    const retired = keys
      .filter((k) => k.retiredAt === undefined)
      .map((k) => ({ ...k.stored, retiredAt: created.createdAt }))
    const untouched = keys.filter((k) => k.retiredAt !== undefined).map((k) => k.stored)
    setKeys([...untouched, ...retired, created])
    rotations += 1
    signer = { kid, privateKey: Promise.resolve(privateKey) }
    // Recording retirement is for readers of the table; setKeys infers it anyway, so a failed
    // write here leaves every instance with the same view.
    await Promise.all(retired.map((k) => store.put(k)))
    return kid
  }

  async function signingKey() {
    await reloadIfOlderThan(reloadAfterSeconds * 1000)
    let current = active()
    if (current === undefined || clock.now() - current.createdAt.getTime() >= rotateAfterMs) {
      await rotate()
      current = active()
    }
    if (current === undefined) throw new Error('No active signing key after rotation')
    if (signer?.kid !== current.kid) {
      // Shared by concurrent callers, so a cold start opens the sealed key once, not per request.
      const opening = { kid: current.kid, privateKey: openPrivateKey(current) }
      signer = opening
      opening.privateKey.catch(() => {
        if (signer === opening) signer = undefined
      })
    }
    return { kid: signer.kid, privateKey: await signer.privateKey }
  }

  async function openPrivateKey(key: StoredSigningKey): Promise<CryptoKey> {
    const plaintext = await sealer.open(key.sealedPrivateKey, { kid: key.kid })
    try {
      const jwk = JSON.parse(new TextDecoder().decode(plaintext))
      const privateKey = await importJWK(jwk, 'EdDSA', { extractable: false })
      if (privateKey instanceof Uint8Array) throw new Error('Expected an Ed25519 CryptoKey')
      return privateKey
    } catch {
      // JSON.parse and importJWK errors could quote the key material.
      throw new Error(`Signing key ${key.kid} could not be opened`)
    } finally {
      plaintext.fill(0)
    }
  }

  async function publicKey(kid: string): Promise<CryptoKey | undefined> {
    let found = published(clock.now()).find((k) => k.stored.kid === kid)
    if (found === undefined && clock.now() - loadedAt >= UNKNOWN_KID_RELOAD_MS) {
      await reload()
      found = published(clock.now()).find((k) => k.stored.kid === kid)
    }
    if (found === undefined) return undefined
    let imported = publicKeys.get(kid)
    if (imported === undefined) {
      imported = importJWK(found.stored.publicJwk, 'EdDSA') as Promise<CryptoKey>
      publicKeys.set(kid, imported)
    }
    return imported
  }

  await reload()
  if (active() === undefined) await rotate()

  return {
    clock,
    maxTokenLifetimeSeconds,
    signingKey,
    publicKey,
    hasPublicKey: (kid) => published(clock.now()).some((k) => k.stored.kid === kid),
    isRevoked: (kid) => keys.some((k) => k.stored.kid === kid && k.stored.revokedAt !== undefined),
    async jwks() {
      await reloadIfOlderThan(reloadAfterSeconds * 1000)
      const keys = published(clock.now()).map(({ stored }): PublishedJwk => {
        return { ...stored.publicJwk, kid: stored.kid, alg: 'EdDSA', use: 'sig' }
      })
      return { keys }
    },
    rotate,
    async revokePrevious() {
      const kid = await rotate()
      const revoked = keys.filter((k) => k.stored.kid !== kid && !k.stored.revokedAt)
      const at = new Date(clock.now())
      for (const key of revoked) await store.revoke(key.stored.kid, at)
      for (const key of revoked) {
        key.stored = { ...key.stored, revokedAt: at }
        publicKeys.delete(key.stored.kid)
      }
      return { kid, revoked: revoked.map((k) => k.stored.kid) }
    },
    reload,
  }
}

function toPublicJwk(jwk: { kty?: string; crv?: string; x?: string }): PublicSigningJwk {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new Error('Expected an Ed25519 public JWK')
  }
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
}
