/** Primary keys of every item, in one place (the layout is documented in table.ts). */
export const itemKey = {
  org: (tenantId: string) => ({ pk: `ORG#${tenantId}`, sk: 'ORG' }),
  user: (userId: string) => ({ pk: `USER#${userId}`, sk: 'USER' }),
  email: (email: string) => ({ pk: `EMAIL#${email}`, sk: 'EMAIL' }),
  /** A person's membership of an organization (storage/members.ts). */
  member: (tenantId: string, userId: string) => ({ pk: `ORG#${tenantId}`, sk: `MEMBER#${userId}` }),
  /** A sign-up waiting for its address to be confirmed, by the SHA-256 of its secret. */
  pendingSignup: (secretHash: string) => ({ pk: `SIGNUP#${secretHash}`, sk: 'SIGNUP' }),
  invitation: (tenantId: string, invitationId: string) => ({
    pk: `ORG#${tenantId}`,
    sk: `INVITE#${invitationId}`,
  }),
  /** The same membership seen from the person, so a login finds their organizations. */
  memberOf: (userId: string, tenantId: string) => ({
    pk: `USER#${userId}`,
    sk: `MEMBEROF#${tenantId}`,
  }),
  token: (tenantId: string, tokenId: string) => ({ pk: `ORG#${tenantId}`, sk: `TOKEN#${tokenId}` }),
  key: (tenantId: string, keyId: string) => ({ pk: `ORG#${tenantId}`, sk: `KEY#${keyId}` }),
  keyName: (tenantId: string, name: string) => ({ pk: `ORG#${tenantId}`, sk: `KEYNAME#${name}` }),
  keyVersion: (tenantId: string, keyId: string, version: number) => ({
    pk: `ORG#${tenantId}`,
    sk: `KEYVER#${keyId}#${String(version).padStart(9, '0')}`,
  }),
  kek: (tenantId: string, version: number) => ({
    pk: `ORG#${tenantId}`,
    sk: `KEK#${String(version).padStart(9, '0')}`,
  }),
  kekJob: (tenantId: string, jobId: string) => ({ pk: `ORG#${tenantId}`, sk: `KEKJOB#${jobId}` }),
  rekeySchedule: (tenantId: string) => ({ pk: `ORG#${tenantId}`, sk: 'REKEY' }),
  kekReminder: (tenantId: string) => ({ pk: `ORG#${tenantId}`, sk: 'KEKREMIND' }),
  trust: (tenantId: string, relationshipId: string) => ({
    pk: `ORG#${tenantId}`,
    sk: `TRUST#${relationshipId}`,
  }),
  /** Which tenant a relationship belongs to: the exchange names a relationship, not a tenant. */
  trustRef: (relationshipId: string) => ({ pk: `TRUSTREF#${relationshipId}`, sk: 'TRUSTREF' }),
  /** A subject token's `jti` exchanged once (relationships with one-time use). */
  subjectTokenUse: (tenantId: string, relationshipId: string, jtiHash: string) => ({
    pk: `ORG#${tenantId}`,
    sk: `JTIUSE#${relationshipId}#${jtiHash}`,
  }),
  mockSecret: () => ({ pk: 'SETTINGS', sk: 'MOCK_SECRET' }),
  signingKey: (kid: string) => ({ pk: 'SIGNING', sk: `KEY#${kid}` }),
  /** Login and sign-up attempts of one subject in one window (login-throttle.ts). */
  attempts: (subjectWindow: string) => ({ pk: `ATTEMPTS#${subjectWindow}`, sk: 'ATTEMPTS' }),
  webhook: (tenantId: string, webhookId: string) => ({
    pk: `ORG#${tenantId}`,
    sk: `WEBHOOK#${webhookId}`,
  }),
  event: (tenantId: string, eventId: string) => ({ pk: `ORG#${tenantId}`, sk: `EVENT#${eventId}` }),
  delivery: (tenantId: string, webhookId: string, messageId: string) => ({
    pk: `ORG#${tenantId}`,
    sk: `WHDELIVERY#${webhookId}#${messageId}`,
  }),
  /** An organization's single sign-on settings (the client secret sealed). */
  ssoConfig: (tenantId: string) => ({ pk: `ORG#${tenantId}`, sk: 'SSO' }),
  /** A person known to an organization's identity provider: a digest of (`iss`, `sub`). */
  ssoIdentity: (tenantId: string, identityHash: string) => ({
    pk: `ORG#${tenantId}`,
    sk: `SSOID#${identityHash}`,
  }),
  /** A sign-in in flight, by a digest of its browser's pre-login cookie. */
  ssoLogin: (bindingHash: string) => ({ pk: `SSOLOGIN#${bindingHash}`, sk: 'SSOLOGIN' }),
  /** A device login in flight, by a digest of its device code. */
  deviceLogin: (deviceHash: string) => ({ pk: `DEVICE#${deviceHash}`, sk: 'DEVICE' }),
  /** The code a person types, pointing at its device login. */
  deviceUserCode: (userCode: string) => ({ pk: `DEVICEUSER#${userCode}`, sk: 'DEVICEUSER' }),
  /** A person's confirmed TOTP factor (sealed seed, last step used). */
  mfaTotp: (userId: string) => ({ pk: `USER#${userId}`, sk: 'MFA#TOTP' }),
  /** A TOTP seed shown but not yet confirmed with a code. */
  mfaTotpPending: (userId: string) => ({ pk: `USER#${userId}`, sk: 'MFA#TOTP_PENDING' }),
  /** A person's unused recovery codes, hashed. */
  mfaRecovery: (userId: string) => ({ pk: `USER#${userId}`, sk: 'MFA#RECOVERY' }),
  /** A registered passkey (its public key and signature counter). */
  passkey: (userId: string, credentialId: string) => ({
    pk: `USER#${userId}`,
    sk: `MFA#PASSKEY#${credentialId}`,
  }),
  /** The WebAuthn challenge of a passkey registration under way (single-use). */
  passkeyPending: (userId: string) => ({ pk: `USER#${userId}`, sk: 'MFA#PASSKEY_PENDING' }),
  /** A second-factor challenge between password and session, by the hash of its string. */
  mfaChallenge: (hash: string) => ({ pk: `MFACHAL#${hash}`, sk: 'MFACHAL' }),
  /** A small item of its own, so token status reads it without the sealed private key. */
  signingKeyRevocation: (kid: string) => ({ pk: 'SIGNING', sk: `REVOKED#${kid}` }),
}

export type ItemKey = { pk: string; sk: string }

/** Seconds since the epoch, for the table's `ttl` attribute. */
export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000)
