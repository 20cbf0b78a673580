import type { Clock } from '../lib/clock.ts'
import type { SigningKeyRing } from './signing-keys.ts'

/**
 * The key ring reads (and may create) keys in storage when it starts; building the app must
 * do no I/O, so the ring starts on first use. A failed start is retried on the next use.
 */
export function lazySigningKeyRing(
  start: () => Promise<SigningKeyRing>,
  { clock, maxTokenLifetimeSeconds }: { clock: Clock; maxTokenLifetimeSeconds: number },
): SigningKeyRing {
  let ring: Promise<SigningKeyRing> | undefined
  let ready: SigningKeyRing | undefined
  const get = () => {
    ring ??= start().then(
      (started) => {
        ready = started
        return started
      },
      (error: unknown) => {
        ring = undefined
        throw error
      },
    )
    return ring
  }
  return {
    clock,
    maxTokenLifetimeSeconds,
    signingKey: async () => (await get()).signingKey(),
    publicKey: async (kid) => (await get()).publicKey(kid),
    hasPublicKey: (kid) => ready?.hasPublicKey(kid) ?? false,
    isRevoked: (kid) => ready?.isRevoked(kid) ?? false,
    jwks: async () => (await get()).jwks(),
    rotate: async () => (await get()).rotate(),
    revokePrevious: async () => (await get()).revokePrevious(),
    reload: async () => (await get()).reload(),
  }
}
