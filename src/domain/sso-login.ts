import { createHash } from 'node:crypto'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import { type LoginBinding, loginBinding, newLoginBinding, sameState } from '../sso/binding.ts'
import type { ClientSecretSealer } from '../sso/client-secret.ts'
import type { SsoMembers } from '../sso/members.ts'
import type { IdClaims, OidcClient } from '../sso/oidc-client.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import type { SsoConfigRecord, SsoLoginRecord, SsoRepository } from '../storage/sso.ts'
import { normalizeEmail } from './accounts.ts'
import type { SessionIssuer } from './session-issuer.ts'

/** The path the provider sends the browser back to, on `KEYSTASH_PUBLIC_URL`. */
export const SSO_CALLBACK_PATH = '/auth/sso/callback'

/**
 * How recent the provider's sign-in must be when it confirms a signed-in person (step-up):
 * the dashboard's window for sensitive actions.
 */
export const REAUTH_MAX_AGE_SECONDS = 5 * 60

/** How long a sign-in may take from start to finish. */
export const SSO_LOGIN_SECONDS = 600

export interface SsoLoginDeps {
  sso: SsoRepository
  sealer: ClientSecretSealer
  oidc: Pick<OidcClient, 'authorizationUrl' | 'exchange'>
  members: SsoMembers
  accounts: Pick<AccountRepository, 'getOrganization'>
  sessions: SessionIssuer
  /**
   * `KEYSTASH_PUBLIC_URL` (or the development server's own URL): redirect URIs come from it,
   * never from a request's `Host`. Undefined: single sign-on cannot start.
   */
  publicUrl: string | undefined
  clock: Clock
}

/** Who signed in, for the audit trail. */
export interface SsoOutcome {
  tenantId: string
  userId: string
  email: string
  issuer: string
  provisioned: boolean
  mode: SsoLoginRecord['mode']
}

/**
 * Sign-in through an organization's OpenID provider, in three steps:
 * 1. `start`: a new login binding (binding.ts) whose secret the browser keeps in a short-lived
 *    `SameSite=Lax` cookie; the provider's authorization URL carries its `state`, `nonce` and
 *    PKCE challenge.
 * 2. `callback`: the provider's redirect back (cross-site, so only the Lax cookie comes with
 *    it). `state` must be the cookie's; openid-client exchanges the code and verifies the ID
 *    token; the identity (organization, `iss`, `sub`) names the person, or the person is
 *    linked or provisioned (below). No session yet.
 * 3. `finish`: a same-site request from the page the callback showed; it consumes the sign-in
 *    and issues the session (set as the `SameSite=Strict` cookie by the dashboard).
 */
export function createSsoLogin(deps: SsoLoginDeps) {
  const { sso, sealer, oidc, members, clock } = deps
  const redirectUri =
    deps.publicUrl === undefined ? undefined : new URL(SSO_CALLBACK_PATH, deps.publicUrl).toString()
  const callbackUri = () => {
    if (redirectUri === undefined) {
      throw new AppError(
        'sso_not_configured',
        'Single sign-on needs the server’s public URL (KEYSTASH_PUBLIC_URL).',
      )
    }
    return redirectUri
  }

  async function settingsOf(record: SsoConfigRecord) {
    return {
      issuer: record.issuer,
      clientId: record.clientId,
      clientSecret: await sealer.open(record.tenantId, record.secretVersion, record.sealedSecret),
    }
  }

  async function configured(tenantId: string): Promise<SsoConfigRecord> {
    const organization = await deps.accounts.getOrganization(tenantId)
    const record =
      organization && !organization.deletedAt ? await sso.getConfig(tenantId) : undefined
    // An unknown organization answers like one without single sign-on.
    if (!record)
      throw new AppError('sso_not_configured', 'This organization has no single sign-on.')
    return record
  }

  /**
   * The person an identity stands for. Keyed by (organization, `iss`, `sub`), never by e-mail
   * alone: an e-mail is used only the first time, only when the provider says it verified it,
   * and only inside this organization. An address that belongs to someone outside it is never
   * taken over; an address on a verified domain becomes a new member with the default role.
   */
  async function personFor(record: SsoConfigRecord, claims: IdClaims) {
    const identityHash = createHash('sha256')
      .update(`${claims.iss}\0${claims.sub}`)
      .digest('base64url')
    const linked = await sso.getIdentity(record.tenantId, identityHash)
    if (linked) {
      if (!(await members.roleOf(record.tenantId, linked))) {
        throw new AppError('sso_not_member', 'You are no longer a member of this organization.')
      }
      return { userId: linked, provisioned: false, email: claims.email ?? '' }
    }
    if (!claims.email || !claims.emailVerified) {
      throw new AppError(
        'sso_email_unverified',
        'The identity provider did not say it verified your e-mail address (email_verified), so it cannot be used to find or create your account.',
      )
    }
    const email = normalizeEmail(claims.email)
    const link = (userId: string) =>
      sso.linkIdentity({
        tenantId: record.tenantId,
        identityHash,
        issuer: claims.iss,
        userId,
        at: new Date(clock.now()),
      })
    const existing = await members.findUserByEmail(email)
    if (existing) {
      if (!(await members.roleOf(record.tenantId, existing.userId))) {
        throw new AppError(
          'sso_account_conflict',
          'An account with this e-mail address exists outside this organization; an owner can invite it.',
        )
      }
      if (!(await link(existing.userId))) throw raced()
      return { userId: existing.userId, provisioned: false, email }
    }
    const domain = email.slice(email.lastIndexOf('@') + 1)
    if (!record.domains.some((d) => d.domain === domain && d.verifiedAt)) {
      throw new AppError(
        'sso_not_member',
        'You are not a member of this organization, and your e-mail domain is not one it has verified; ask an owner to invite you.',
      )
    }
    const userId = await members.provision({
      tenantId: record.tenantId,
      email,
      role: record.defaultRole,
      at: new Date(clock.now()),
    })
    if (!(await link(userId))) throw raced()
    return { userId, provisioned: true, email }
  }

  return {
    redirectUri,

    /**
     * `reauth`: the person confirms who they are for a sensitive action (the dashboard's
     * step-up): the provider is asked to sign them in again, and an ID token whose `auth_time`
     * is older than `REAUTH_MAX_AGE_SECONDS` is refused. The new session is the confirmation.
     */
    async start(input: { tenantId: string; mode: SsoLoginRecord['mode']; reauth?: boolean }) {
      const record = await configured(input.tenantId)
      const binding = newLoginBinding()
      const now = new Date(clock.now())
      const expiresAt = new Date(now.getTime() + SSO_LOGIN_SECONDS * 1000).toISOString()
      const authorizationUrl = await oidc.authorizationUrl(await settingsOf(record), {
        redirectUri: callbackUri(),
        state: binding.state,
        nonce: binding.nonce,
        codeVerifier: binding.codeVerifier,
        maxAgeSeconds: input.reauth ? REAUTH_MAX_AGE_SECONDS : undefined,
      })
      await sso.startLogin(binding.hash, {
        tenantId: record.tenantId,
        mode: input.mode,
        ...(input.reauth ? { reauth: true } : {}),
        status: 'started',
        createdAt: now.toISOString(),
        expiresAt,
      })
      return { cookie: binding.secret, authorizationUrl: authorizationUrl.toString(), expiresAt }
    },

    /**
     * `secret` is the pre-login cookie, `query` the callback's query string. Failures name
     * the organization when it is known, for the audit trail (`tenantId` on the error).
     */
    async callback(secret: string | undefined, query: string): Promise<SsoOutcome> {
      const { binding, login } = await open(secret)
      const params = new URLSearchParams(query)
      if (!sameState(binding.state, params.get('state') ?? undefined)) throw stateInvalid()
      const record = await configured(login.tenantId)
      const callbackUrl = new URL(callbackUri())
      callbackUrl.search = params.toString()
      const claims = await oidc.exchange(await settingsOf(record), {
        callbackUrl,
        state: binding.state,
        nonce: binding.nonce,
        codeVerifier: binding.codeVerifier,
        maxAgeSeconds: login.reauth ? REAUTH_MAX_AGE_SECONDS : undefined,
      })
      // openid-client compared `iss` with the discovered issuer; this keeps an identity
      // recorded under another issuer (after a change of provider) from matching.
      if (claims.iss !== record.issuer) {
        throw new AppError('sso_id_token_invalid', 'The ID token names another issuer.')
      }
      const person = await personFor(record, claims)
      const now = new Date(clock.now())
      const verified = { ...person, ...(claims.multiFactor ? { mfaAt: now.toISOString() } : {}) }
      if (!(await sso.markVerified(binding.hash, verified, now))) throw stateInvalid()
      return { tenantId: record.tenantId, issuer: record.issuer, mode: login.mode, ...person }
    },

    /** Consumes a verified sign-in and issues its session. */
    async finish(secret: string | undefined) {
      const binding = secret ? loginBinding(secret) : undefined
      const login = binding
        ? await sso.consumeLogin(binding.hash, new Date(clock.now()))
        : undefined
      if (!login?.userId) throw stateInvalid()
      if (!(await members.roleOf(login.tenantId, login.userId))) {
        throw new AppError('sso_not_member', 'You are no longer a member of this organization.')
      }
      // "MFA required" holds for single sign-on too: the provider must report a second factor
      // (`amr`), or the session would be refused at its first request anyway.
      const organization = await deps.accounts.getOrganization(login.tenantId)
      if (organization?.mfaRequired && !login.mfaAt) {
        throw new AppError(
          'mfa_required',
          'This organization requires a second factor, and the identity provider did not report one (amr): sign in with a second factor at the provider.',
        )
      }
      const session = await deps.sessions.issue(login.tenantId, login.userId, {
        mfaAt: login.mfaAt,
      })
      await members.signedIn(login.tenantId, login.userId, new Date(clock.now()))
      return {
        session: { token: session.token, expiresAt: session.expiresAt },
        sessionId: session.tokenId,
        tenantId: login.tenantId,
        userId: login.userId,
        email: login.email ?? '',
      }
    },

    /** The organization a pre-login cookie belongs to, if it is still open (for auditing). */
    async tenantOf(secret: string | undefined): Promise<string | undefined> {
      if (!secret) return undefined
      return (await sso.getLogin(loginBinding(secret).hash))?.tenantId
    },

    assertPasswordAllowed: passwordLoginCheck(sso),
  }

  async function open(
    secret: string | undefined,
  ): Promise<{ binding: LoginBinding; login: SsoLoginRecord }> {
    if (!secret) throw stateInvalid()
    const binding = loginBinding(secret)
    const login = await sso.getLogin(binding.hash)
    if (login?.status !== 'started' || Date.parse(login.expiresAt) <= clock.now()) {
      throw stateInvalid()
    }
    return { binding, login }
  }
}

export type SsoLogin = ReturnType<typeof createSsoLogin>

/** "SSO required": members of such an organization may not sign in with a password. */
export function passwordLoginCheck(sso: Pick<SsoRepository, 'getConfig'>) {
  return async (tenantId: string): Promise<void> => {
    const record = await sso.getConfig(tenantId)
    if (record?.required) {
      throw new AppError(
        'sso_required',
        'This organization requires single sign-on: sign in through its identity provider.',
        { extra: { organization: tenantId } },
      )
    }
  }
}

const stateInvalid = () =>
  new AppError(
    'sso_state_invalid',
    'This sign-in was not started in this browser, has expired, or was altered; start again.',
  )

const raced = () =>
  new AppError('conflict', 'This identity was linked by a sign-in at the same moment; try again.')
