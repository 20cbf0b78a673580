import { checkPasswordPolicy, hashPassword, needsRehash, verifyLogin } from '../auth/passwords.ts'
import type { Principal } from '../auth/principal.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { type AccountRepository, DEFAULT_MOCK_SETTINGS } from '../storage/accounts.ts'
import type { LoginThrottle } from '../storage/login-throttle.ts'
import type { MemberRepository } from '../storage/members.ts'
import type { TokenRepository } from '../storage/tokens.ts'
import type { MfaService } from './mfa.ts'
import type { FailureHooks } from './mfa-challenge.ts'
import type { SecondFactor } from './mfa-factors.ts'
import { personOrganizations } from './person-organizations.ts'
import { createSessionIssuer } from './sessions.ts'
import { createStepUp } from './step-up.ts'

export interface AccountServiceDeps {
  accounts: AccountRepository
  members: Pick<MemberRepository, 'organizationsOf' | 'get' | 'touchSignIn'>
  tokens: Pick<TokenRepository, 'put' | 'revoke'>
  throttle: LoginThrottle
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
  logger: Logger
  /** Called when this instance revokes a token, so its cached status is dropped at once. */
  onRevoked: (tenantId: string, tokenId: string) => void
  /**
   * Throws when the organization refuses password logins ("SSO required"); asked only after
   * the password proved right, so it tells nothing to someone guessing.
   */
  passwordAllowed?: (tenantId: string) => Promise<void>
  /** A person with a second factor (or whose organization requires one) gets a challenge first. */
  mfa?: Pick<MfaService, 'challengeAfterPassword' | 'completeChallenge'>
}

export type { Session } from './sessions.ts'

/** E-mail addresses compare case-insensitively and after Unicode normalisation. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase()
}

/** Sign-up, login, organizations and logout: everything of the service but step-up. */
function createSignIn(deps: AccountServiceDeps) {
  const { accounts, members, tokens, throttle, ring, config, clock, logger } = deps

  const { organizationsOf, organizationToOpen } = personOrganizations({ accounts, members })
  const newSession = createSessionIssuer({ ring, config, clock })

  /** What every sign-up checks first: sign-up open, the password policy, the address's rate. */
  async function admitSignup(input: { password: string; address?: string }) {
    if (!config.auth.signup) {
      throw new AppError(
        'signup_disabled',
        'This server does not accept new sign-ups; ask its operator for an account.',
      )
    }
    checkPasswordPolicy(input.password)
    const verdict = await throttle.signup(input.address)
    if (!verdict.allowed) throw tooMany('rate_limited', verdict.retryAfterMs)
  }

  const service = {
    admitSignup,

    /**
     * Creates a person, the organization they own and their first session; `conflict` when
     * the address is taken.
     */
    async openAccount(input: {
      email: string
      passwordHash: string
      organization?: string | undefined
      emailConfirmedAt?: string
    }) {
      const { email, passwordHash } = input
      const userId = newId('usr')
      const tenantId = newId('org')
      const now = new Date(clock.now()).toISOString()
      const { record, session } = await newSession(tenantId, userId)
      const organization = {
        tenantId,
        name: input.organization?.trim() || `${email.split('@')[0]}'s organization`,
        ownerUserId: userId,
        createdAt: now,
        updatedAt: now,
        mockDefaults: { ...DEFAULT_MOCK_SETTINGS },
      }
      await accounts.createAccount({
        user: {
          userId,
          email,
          passwordHash,
          createdAt: now,
          ...(input.emailConfirmedAt ? { emailConfirmedAt: input.emailConfirmedAt } : {}),
        },
        organization,
        owner: {
          tenantId,
          userId,
          email,
          role: 'owner',
          joinedAt: now,
          signInMethod: 'password',
          lastSignInAt: now,
        },
        session: record,
      })
      return {
        user: { id: userId, email },
        organization: { id: tenantId, name: organization.name },
        session,
        sessionId: record.tokenId,
      }
    },

    /** Sign-up without address confirmation (no SMTP server configured). */
    async signup(input: {
      email: string
      password: string
      organization?: string
      address?: string
    }) {
      await admitSignup(input)
      return service.openAccount({
        email: normalizeEmail(input.email),
        passwordHash: await hashPassword(input.password),
        organization: input.organization,
      })
    },

    /**
     * Same work whether or not the e-mail exists (one argon2id verification either way), and
     * the same answer for a wrong e-mail and a wrong password.
     */
    async login(
      input: { email: string; password: string; address?: string; organization?: string },
      hooks: {
        failed?: (
          user: { userId: string; tenantId: string | undefined; email: string } | undefined,
          error: AppError,
        ) => Promise<void>
      } = {},
    ) {
      const email = normalizeEmail(input.email)
      // Counted before the password is looked at: concurrent guesses cannot all get through.
      const verdict = await throttle.login(email, input.address)
      if (!verdict.allowed) throw tooMany('login_locked', verdict.retryAfterMs)
      const user = await accounts.findUserByEmail(email)
      const ok = await verifyLogin(user?.passwordHash, input.password)
      if (!user || !ok) {
        const failure = new AppError(
          'invalid_credentials',
          'The e-mail address or the password is wrong.',
        )
        await hooks.failed?.(
          user
            ? { userId: user.userId, tenantId: (await organizationsOf(user))[0], email }
            : undefined,
          failure,
        )
        throw failure
      }
      if (needsRehash(user.passwordHash)) {
        await accounts
          .updatePasswordHash(user.userId, await hashPassword(input.password))
          .catch((error: unknown) =>
            logger.warn({ error: (error as Error)?.name }, 'password rehash failed'),
          )
      }
      const organization = await organizationToOpen(user, input.organization)
      const { tenantId } = organization
      await deps.passwordAllowed?.(tenantId)
      const identity = { userId: user.userId, tenantId, email }
      // With a second factor owed, the password's count stays until the factor is given too.
      const mfa = await deps.mfa?.challengeAfterPassword(identity, organization)
      if (mfa) return { ...identity, mfa }
      await throttle.succeeded(email, input.address)
      const { record, session } = await newSession(tenantId, user.userId)
      await tokens.put(record)
      await members.touchSignIn(tenantId, user.userId, new Date(clock.now()))
      return { session, sessionId: record.tokenId, userId: user.userId, tenantId, email }
    },

    /** The organizations the person behind a session belongs to, with their role in each. */
    async organizations(principal: Principal) {
      const user = principal.userId ? await accounts.getUser(principal.userId) : undefined
      if (principal.kind !== 'session' || !user) {
        throw new AppError('session_required', 'Only a person’s session belongs to organizations.')
      }
      const found = []
      for (const tenantId of await organizationsOf(user)) {
        const [organization, membership] = await Promise.all([
          accounts.getOrganization(tenantId),
          members.get(tenantId, user.userId),
        ])
        if (!organization || organization.deletedAt) continue
        found.push({
          id: tenantId,
          name: organization.name,
          role: membership?.role ?? ('owner' as const),
          current: tenantId === principal.tenantId,
        })
      }
      return found
    },

    /**
     * Switching organization is a new session in the other one, for a person who belongs to
     * it; the calling session stays as it is.
     */
    async switchOrganization(principal: Principal, tenantId: string) {
      const user =
        principal.kind === 'session' && principal.userId
          ? await accounts.getUser(principal.userId)
          : undefined
      if (!user) {
        throw new AppError('session_required', 'Only a person’s session can switch organization.')
      }
      const { tenantId: opened } = await organizationToOpen(user, tenantId)
      // The second factor proved for this sign-in counts in the other organization too.
      const { record, session } = await newSession(opened, user.userId, { mfaAt: principal.mfaAt })
      await tokens.put(record)
      await members.touchSignIn(opened, user.userId, new Date(clock.now()))
      return { session, sessionId: record.tokenId, tenantId: opened, userId: user.userId }
    },

    /** The second step of a login that answered with a challenge: the session, at last. */
    async completeMfa(
      input: SecondFactor & { challenge: string; address?: string | undefined },
      hooks: FailureHooks = {},
    ) {
      if (!deps.mfa) throw new AppError('bad_request', 'No second factor is configured.')
      const proof = await deps.mfa.completeChallenge(input, hooks)
      const { record, session } = await newSession(proof.tenantId, proof.userId, {
        mfaAt: proof.mfaAt,
      })
      await tokens.put(record)
      await members.touchSignIn(proof.tenantId, proof.userId, new Date(clock.now()))
      return { ...proof, session, sessionId: record.tokenId }
    },

    async logout(principal: Principal) {
      if (principal.kind !== 'session') {
        throw new AppError(
          'bad_request',
          'Only a session can log out; revoke access tokens with DELETE /v1/tokens/{id}.',
        )
      }
      await tokens.revoke(principal.tenantId, principal.tokenId, new Date(clock.now()))
      deps.onRevoked(principal.tenantId, principal.tokenId)
    },
  }
  return service
}

/** The account steps that step-up goes through again. */
export type SignIn = ReturnType<typeof createSignIn>

/**
 * Sign-up, login and logout. A session is a token of kind `session`; what it may do is decided
 * from its person at each request. Logging out ends the session alone: access tokens minted
 * with it keep working (they belong to the organization, and a person's sessions manage them).
 * Step-up (step-up.ts) goes through the same login.
 */
export function createAccountService(deps: AccountServiceDeps) {
  const signIn = createSignIn(deps)
  return { ...signIn, ...createStepUp({ accounts: deps.accounts, session: signIn }) }
}

export type AccountService = ReturnType<typeof createAccountService>

function tooMany(code: 'login_locked' | 'rate_limited', retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  const what = code === 'login_locked' ? 'login attempts' : 'sign-ups from this address'
  return new AppError(code, `Too many ${what}; try again in ${seconds} seconds.`, {
    headers: { 'retry-after': String(seconds) },
    extra: { retryAfterSeconds: seconds },
  })
}
