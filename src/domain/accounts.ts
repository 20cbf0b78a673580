import { issueToken } from '../auth/jwt.ts'
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
import type { TokenRecord, TokenRepository } from '../storage/tokens.ts'

export interface AccountServiceDeps {
  accounts: AccountRepository
  tokens: Pick<TokenRepository, 'put' | 'revoke'>
  throttle: LoginThrottle
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
  logger: Logger
  /** Called when this instance revokes a token, so its cached status is dropped at once. */
  onRevoked: (tenantId: string, tokenId: string) => void
}

export interface Session {
  token: string
  expiresAt: string
}

/** E-mail addresses compare case-insensitively and after Unicode normalisation. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase()
}

/**
 * Sign-up, login and logout. A session is a token of kind `session`; what it may do is decided
 * from its person at each request. Logging out ends the session alone: access tokens minted
 * with it keep working (they belong to the organization, and a person's sessions manage them).
 */
export function createAccountService(deps: AccountServiceDeps) {
  const { accounts, tokens, throttle, ring, config, clock, logger } = deps

  async function newSession(tenantId: string, userId: string) {
    const now = new Date(clock.now())
    const record: TokenRecord = {
      tenantId,
      tokenId: newId('tok'),
      kind: 'session',
      userId,
      // A session's power comes from its person at each request (scopesForSession), not from
      // what it was issued with.
      scopes: [],
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + config.auth.sessionTtlSeconds * 1000).toISOString(),
      createdBy: { type: 'user', id: userId },
    }
    const token = await issueToken(ring, {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      kind: 'session',
      tokenId: record.tokenId,
      tenantId,
      subject: userId,
      expiresAt: new Date(record.expiresAt),
    })
    return { record, session: { token, expiresAt: record.expiresAt } satisfies Session }
  }

  const service = {
    async signup(input: {
      email: string
      password: string
      organization?: string
      address?: string
    }) {
      if (!config.auth.signup) {
        throw new AppError(
          'signup_disabled',
          'This server does not accept new sign-ups; ask its operator for an account.',
        )
      }
      checkPasswordPolicy(input.password)
      const verdict = await throttle.signup(input.address)
      if (!verdict.allowed) throw tooMany('rate_limited', verdict.retryAfterMs)
      const email = normalizeEmail(input.email)
      const userId = newId('usr')
      const tenantId = newId('org')
      const now = new Date(clock.now()).toISOString()
      const passwordHash = await hashPassword(input.password)
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
        user: { userId, email, passwordHash, tenantId, role: 'owner', createdAt: now },
        organization,
        session: record,
      })
      return {
        user: { id: userId, email },
        organization: { id: tenantId, name: organization.name },
        session,
        sessionId: record.tokenId,
      }
    },

    /**
     * Same work whether or not the e-mail exists (one argon2id verification either way), and
     * the same answer for a wrong e-mail and a wrong password.
     */
    async login(
      input: { email: string; password: string; address?: string },
      hooks: {
        failed?: (
          user: { userId: string; tenantId: string; email: string } | undefined,
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
          user ? { userId: user.userId, tenantId: user.tenantId, email } : undefined,
          failure,
        )
        throw failure
      }
      await throttle.succeeded(email, input.address)
      if (needsRehash(user.passwordHash)) {
        await accounts
          .updatePasswordHash(user.userId, await hashPassword(input.password))
          .catch((error: unknown) =>
            logger.warn({ error: (error as Error)?.name }, 'password rehash failed'),
          )
      }
      const organization = await accounts.getOrganization(user.tenantId)
      if (!organization || organization.deletedAt) {
        throw new AppError('invalid_credentials', 'The e-mail address or the password is wrong.')
      }
      const { record, session } = await newSession(user.tenantId, user.userId)
      await tokens.put(record)
      return {
        session,
        sessionId: record.tokenId,
        userId: user.userId,
        tenantId: user.tenantId,
        email,
      }
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

    /**
     * Step-up: the person behind a session proves it again with the password, through the
     * same throttled check as a login. The session is replaced by a new one, whose issue time
     * is the moment of the check, and the old one is revoked.
     */
    async reauthenticate(principal: Principal, input: { password: string; address?: string }) {
      const user =
        principal.kind === 'session' && principal.userId
          ? await accounts.getUser(principal.userId)
          : undefined
      if (!user || user.tenantId !== principal.tenantId) {
        throw new AppError('bad_request', 'Only a person’s session can be confirmed again.')
      }
      const result = await service.login({ email: user.email, ...input })
      await service.logout(principal)
      return result
    },
  }
  return service
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
