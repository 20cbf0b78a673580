import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'

export type { AuthenticationResponseJSON, RegistrationResponseJSON }

/** Who the browser must believe it is talking to: origin and RP id from the public URL. */
export interface RelyingParty {
  id: string
  origin: string
  name: string
}

/** A registered passkey as the server keeps it: its public key, never a secret. */
export interface PasskeyCredential {
  credentialId: string
  publicKey: Uint8Array
  counter: number
  transports: string[]
}

/** How long the browser may take to ask the authenticator. */
const TIMEOUT_MS = 120_000

/**
 * The relying party of `publicUrl`: its host is the RP id. WebAuthn refuses IP addresses as
 * RP ids, so a server reached by address has no passkeys (development uses `localhost`).
 */
export function relyingPartyOf(publicUrl: string | undefined): RelyingParty | undefined {
  if (!publicUrl) return undefined
  const url = new URL(publicUrl)
  const host = url.hostname
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[')) return undefined
  return { id: host, origin: url.origin, name: 'Keystash' }
}

const transportsOf = (transports: string[]) => transports as AuthenticatorTransportFuture[]

export function registrationOptions(
  rp: RelyingParty,
  user: { userId: string; email: string },
  existing: PasskeyCredential[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userID: new TextEncoder().encode(user.userId),
    attestationType: 'none',
    timeout: TIMEOUT_MS,
    excludeCredentials: existing.map((c) => ({
      id: c.credentialId,
      transports: transportsOf(c.transports),
    })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  })
}

/** The new credential, or undefined when the response does not verify. */
export async function verifiedRegistration(
  rp: RelyingParty,
  response: RegistrationResponseJSON,
  expectedChallenge: string,
): Promise<PasskeyCredential | undefined> {
  try {
    const { verified, registrationInfo } = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      // A second factor after a password: presence is enough, as for a security key.
      requireUserVerification: false,
    })
    if (!verified || !registrationInfo) return undefined
    const { credential } = registrationInfo
    return {
      credentialId: credential.id,
      publicKey: credential.publicKey,
      counter: credential.counter,
      transports: credential.transports ?? [],
    }
  } catch {
    // Malformed, wrong origin, wrong challenge: all the same refusal.
    return undefined
  }
}

export function authenticationOptions(
  rp: RelyingParty,
  credentials: PasskeyCredential[],
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: rp.id,
    timeout: TIMEOUT_MS,
    userVerification: 'preferred',
    allowCredentials: credentials.map((c) => ({
      id: c.credentialId,
      transports: transportsOf(c.transports),
    })),
  })
}

/** The authenticator's new signature counter, or undefined when the assertion does not verify. */
export async function verifiedAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  credential: PasskeyCredential,
): Promise<number | undefined> {
  try {
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: credential.credentialId,
        publicKey: new Uint8Array(credential.publicKey),
        counter: credential.counter,
        transports: transportsOf(credential.transports),
      },
      requireUserVerification: false,
    })
    return verified ? authenticationInfo.newCounter : undefined
  } catch {
    return undefined
  }
}
