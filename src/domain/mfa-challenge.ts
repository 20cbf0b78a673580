import { createHash, randomBytes } from 'node:crypto'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'
import type { LoginThrottle } from '../storage/login-throttle.ts'
import type { MfaRepository } from '../storage/mfa.ts'
import type { MfaChallengeRecord } from '../storage/mfa-challenges.ts'
import {
  type FactorChecks,
  type FactorMethod,
  type SecondFactor,
  wrongCode,
} from './mfa-factors.ts'
import type { PasskeyFactor } from './passkey-factor.ts'

/** How long the step between password and second factor stays open. */
export const CHALLENGE_TTL_SECONDS = 5 * 60
/** Wrong codes one challenge takes before it ends (the login throttle counts them too). */
export const CHALLENGE_MAX_ATTEMPTS = 5

export interface MfaChallenge {
  /** Opaque, single-use, short-lived; good for nothing but the second step of this login. */
  challenge: string
  /** `verify`: give a factor. `enrol`: the organization requires one and none is set up yet. */
  purpose: MfaChallengeRecord['purpose']
  methods: FactorMethod[]
  expiresAt: string
}

export interface FailureHooks {
  /** Told of a wrong factor on a known challenge (the login's audit trail files it). */
  failed?: (
    who: { userId: string; tenantId: string; email: string },
    error: AppError,
  ) => Promise<void>
}

export interface MfaChallengeDeps {
  mfa: MfaRepository
  passkeys: PasskeyFactor
  throttle: Pick<LoginThrottle, 'login' | 'succeeded'>
  clock: Clock
  factors: FactorChecks
}

const CHALLENGE_PREFIX = 'mfa_'
const hashOf = (challenge: string) => createHash('sha256').update(challenge).digest('base64url')

const challengeEnded = () =>
  new AppError(
    'mfa_challenge_invalid',
    'This sign-in step is unknown, expired or used up: sign in with your password again.',
  )

/**
 * The challenge that sits between a correct password and a session: handed out by a login
 * whose person has (or must set up) a second factor, and answered with that factor.
 */
export function createMfaChallenges(deps: MfaChallengeDeps) {
  const { mfa, throttle, clock, passkeys, factors: checks } = deps
  const { factorsOf, verifyFactor, confirmPending, startPending } = checks
  const nowIso = () => new Date(clock.now()).toISOString()

  /** The challenge a login hands out instead of a session, or undefined if none is owed. */
  async function challengeAfterPassword(
    user: { userId: string; tenantId: string; email: string },
    organization: Pick<OrganizationRecord, 'mfaRequired'>,
  ): Promise<MfaChallenge | undefined> {
    const factors = await factorsOf(user.userId)
    const purpose = factors.any ? 'verify' : organization.mfaRequired ? 'enrol' : undefined
    if (!purpose) return undefined
    const challenge = `${CHALLENGE_PREFIX}${randomBytes(32).toString('base64url')}`
    const now = clock.now()
    const record: MfaChallengeRecord = {
      ...user,
      purpose,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + CHALLENGE_TTL_SECONDS * 1000).toISOString(),
    }
    await mfa.putChallenge(hashOf(challenge), record)
    return {
      challenge,
      purpose,
      methods:
        purpose === 'verify'
          ? [
              ...(factors.totp ? (['totp'] as const) : []),
              ...(factors.passkeys.length > 0 ? (['passkey'] as const) : []),
              ...(factors.recoveryCodes.length > 0 ? (['recovery_code'] as const) : []),
            ]
          : ['totp'],
      expiresAt: record.expiresAt,
    }
  }

  async function complete(
    hash: string,
    record: MfaChallengeRecord,
    input: SecondFactor & { address?: string | undefined },
  ) {
    const verdict = await throttle.login(record.email, input.address)
    if (!verdict.allowed) {
      const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))
      throw new AppError(
        'login_locked',
        `Too many login attempts; try again in ${seconds} seconds.`,
        {
          headers: { 'retry-after': String(seconds) },
          extra: { retryAfterSeconds: seconds },
        },
      )
    }
    let method: FactorMethod
    let recoveryCodes: string[] | undefined
    if (record.purpose === 'enrol') {
      if (input.code === undefined) throw wrongCode()
      recoveryCodes = await confirmPending(record.userId, input.code)
      method = 'totp'
    } else {
      method = await verifyFactor(record.userId, input, record.webauthnChallenge)
    }
    if (!(await mfa.consumeChallenge(hash))) throw challengeEnded()
    await throttle.succeeded(record.email, input.address)
    return {
      userId: record.userId,
      tenantId: record.tenantId,
      email: record.email,
      method,
      mfaAt: nowIso(),
      ...(recoveryCodes ? { recoveryCodes } : {}),
    }
  }

  async function liveChallenge(challenge: string, attempt: boolean) {
    if (!challenge.startsWith(CHALLENGE_PREFIX) || challenge.length > 100) throw challengeEnded()
    const hash = hashOf(challenge)
    const record = attempt
      ? await mfa.attemptChallenge(hash, CHALLENGE_MAX_ATTEMPTS)
      : await mfa.getChallenge(hash)
    if (!record || Date.parse(record.expiresAt) <= clock.now()) throw challengeEnded()
    return { hash, record }
  }

  return {
    challengeAfterPassword,

    /** WebAuthn request options for the second step of a login; they end with its challenge. */
    async passkeyOptionsForChallenge(challenge: string) {
      const { hash, record } = await liveChallenge(challenge, false)
      if (record.purpose !== 'verify') {
        throw new AppError(
          'conflict',
          'Set up an authenticator app first: no passkey is registered.',
        )
      }
      const options = await passkeys.assertionOptions(record.userId)
      if (options.allowCredentials?.length === 0) {
        throw new AppError('conflict', 'No passkey is registered: use a code instead.')
      }
      if (!(await mfa.setWebauthnChallenge(hash, options.challenge))) throw challengeEnded()
      return options
    },

    /** Set-up during a login whose organization requires a factor the person lacks. */
    async startTotpForChallenge(challenge: string) {
      const { record } = await liveChallenge(challenge, false)
      if (record.purpose !== 'enrol') {
        throw new AppError('conflict', 'A second factor is set up already: enter its code.')
      }
      return startPending(record.userId, record.email)
    },

    /**
     * The second step of a login: a code or recovery code (or, for an `enrol` challenge, the
     * first code of the new authenticator). Counted by the login throttle like a password, and
     * at most `CHALLENGE_MAX_ATTEMPTS` per challenge. Ends the challenge when it succeeds.
     */
    async completeChallenge(
      input: SecondFactor & { challenge: string; address?: string | undefined },
      hooks: FailureHooks = {},
    ) {
      const { hash, record } = await liveChallenge(input.challenge, true)
      try {
        return await complete(hash, record, input)
      } catch (error) {
        if (error instanceof AppError) await hooks.failed?.(record, error)
        throw error
      }
    },
  }
}
