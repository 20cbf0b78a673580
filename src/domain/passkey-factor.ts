import {
  type AuthenticationResponseJSON,
  authenticationOptions,
  type RegistrationResponseJSON,
  type RelyingParty,
  registrationOptions,
  verifiedAssertion,
  verifiedRegistration,
} from '../auth/passkeys.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { PasskeyRepository } from '../storage/passkeys.ts'

/** How long a registration ceremony may take between its options and its answer. */
const REGISTRATION_TTL_SECONDS = 5 * 60

/**
 * Passkeys as a second factor (WebAuthn through @simplewebauthn/server): registration from a
 * person's session, assertions during login. Every challenge is single-use and short-lived:
 * registration challenges are taken from storage as they are checked, and login assertions
 * ride on the login's own challenge, which ends when the login does.
 */
export function createPasskeyFactor(deps: {
  passkeys: PasskeyRepository
  /** Undefined when the public URL has no host name a browser accepts as an RP id. */
  rp: RelyingParty | undefined
  clock: Clock
}) {
  const { passkeys, clock } = deps
  const relyingParty = () => {
    if (!deps.rp) {
      throw new AppError(
        'bad_request',
        'Passkeys need KEYSTASH_PUBLIC_URL set to a URL with a host name (not an IP address).',
      )
    }
    return deps.rp
  }

  return {
    available: deps.rp !== undefined,
    list: (userId: string) => passkeys.list(userId),

    async registrationOptions(user: { userId: string; email: string }) {
      const rp = relyingParty()
      const options = await registrationOptions(rp, user, await passkeys.list(user.userId))
      const expiresAt = new Date(clock.now() + REGISTRATION_TTL_SECONDS * 1000).toISOString()
      await passkeys.putPending(user.userId, options.challenge, expiresAt)
      return options
    },

    /** Verifies the browser's answer to the options and keeps the new passkey. */
    async register(userId: string, response: RegistrationResponseJSON, name: string) {
      const rp = relyingParty()
      const pending = await passkeys.takePending(userId)
      if (!pending || Date.parse(pending.expiresAt) <= clock.now()) {
        throw new AppError('conflict', 'Start adding the passkey again: its challenge has ended.')
      }
      const credential = await verifiedRegistration(rp, response, pending.challenge)
      if (!credential) {
        throw new AppError('mfa_code_invalid', 'The passkey’s answer could not be verified.')
      }
      const createdAt = new Date(clock.now()).toISOString()
      await passkeys.add({ ...credential, userId, name, createdAt })
      return { id: credential.credentialId, name, createdAt }
    },

    /** Options for an assertion by any of the person's passkeys. */
    async assertionOptions(userId: string) {
      return authenticationOptions(relyingParty(), await passkeys.list(userId))
    },

    /** True when the assertion verifies against one of the person's passkeys and counts up. */
    async verify(userId: string, response: AuthenticationResponseJSON, expectedChallenge: string) {
      const rp = relyingParty()
      const credential = (await passkeys.list(userId)).find((c) => c.credentialId === response.id)
      if (!credential) return false
      const counter = await verifiedAssertion(rp, response, expectedChallenge, credential)
      if (counter === undefined) return false
      return passkeys.recordUse(
        userId,
        credential.credentialId,
        counter,
        new Date(clock.now()).toISOString(),
      )
    },

    async removeAll(userId: string) {
      for (const passkey of await passkeys.list(userId)) {
        await passkeys.remove(userId, passkey.credentialId)
      }
    },
  }
}

export type PasskeyFactor = ReturnType<typeof createPasskeyFactor>
