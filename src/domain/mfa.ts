import { createHash, randomBytes } from 'node:crypto'
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '../auth/passkeys.ts'
import type { Principal } from '../auth/principal.ts'
import { hashRecoveryCode, newRecoveryCodes } from '../auth/recovery-codes.ts'
import { newTotpEnrolment, type TotpEnrolment, totpStepOf } from '../auth/totp.ts'
import type { TotpSeedSealer } from '../auth/totp-seed-sealer.ts'
import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { AccountRepository, OrganizationRecord } from '../storage/accounts.ts'
import type { LoginThrottle } from '../storage/login-throttle.ts'
import type { MemberRepository } from '../storage/members.ts'
import type { MfaChallengeRecord, MfaRepository, StoredTotp } from '../storage/mfa.ts'
import type { PasskeyFactor } from './passkey-factor.ts'

/** How long the step between password and second factor stays open. */
export const CHALLENGE_TTL_SECONDS = 5 * 60
/** Wrong codes one challenge takes before it ends (the login throttle counts them too). */
export const CHALLENGE_MAX_ATTEMPTS = 5
/** How long a seed shown for enrolment waits for its first code. */
export const PENDING_TOTP_TTL_SECONDS = 15 * 60

export interface SecondFactor {
  code?: string | undefined
  recoveryCode?: string | undefined
  /** A WebAuthn assertion, answering the options of POST /v1/auth/mfa/passkey. */
  passkey?: AuthenticationResponseJSON | undefined
}

export type FactorMethod = 'totp' | 'recovery_code' | 'passkey'

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

export interface MfaServiceDeps {
  mfa: MfaRepository
  accounts: Pick<AccountRepository, 'findUserByEmail' | 'getUser' | 'setMfaRequired'>
  sealer: TotpSeedSealer
  passkeys: PasskeyFactor
  /** Where a reset is filed: every organization the person belongs to. */
  members: Pick<MemberRepository, 'organizationsOf'>
  throttle: Pick<LoginThrottle, 'login' | 'succeeded'>
  clock: Clock
  /** Shown in authenticator apps next to the account (`Keystash (host)`). */
  issuer: string
}

const CHALLENGE_PREFIX = 'mfa_'
const hashOf = (challenge: string) => createHash('sha256').update(challenge).digest('base64url')

const wrongCode = () =>
  new AppError('mfa_code_invalid', 'The code is wrong, expired or was already used.')
const challengeEnded = () =>
  new AppError(
    'mfa_challenge_invalid',
    'This sign-in step is unknown, expired or used up: sign in with your password again.',
  )

/**
 * A person's second factor: TOTP with single-use recovery codes, the challenge that sits
 * between a correct password and a session, and an organization's "MFA required" switch.
 * Sessions are issued by the account service; this one says who proved what.
 */
export function createMfaService(deps: MfaServiceDeps) {
  const { mfa, accounts, sealer, throttle, clock, passkeys } = deps
  const nowIso = () => new Date(clock.now()).toISOString()

  const confirmed = (totp: StoredTotp | undefined) => (totp?.confirmedAt ? totp : undefined)

  /** Every factor of a person: TOTP (if confirmed), recovery codes and passkeys. */
  async function factorsOf(userId: string) {
    const [factors, keys] = await Promise.all([mfa.factors(userId), passkeys.list(userId)])
    const totp = confirmed(factors.totp)
    return {
      ...factors,
      totp,
      passkeys: keys,
      any: totp !== undefined || keys.length > 0,
    }
  }

  /**
   * Checks a code, recovery code or passkey assertion of a person with a factor; each is
   * accepted once. A passkey assertion needs the WebAuthn challenge it answers.
   */
  async function verifyFactor(
    userId: string,
    factor: SecondFactor,
    webauthnChallenge?: string,
  ): Promise<FactorMethod> {
    const factors = await factorsOf(userId)
    if (!factors.any) {
      throw new AppError('bad_request', 'No second factor is set up for this person.')
    }
    if (factor.passkey !== undefined) {
      if (webauthnChallenge && (await passkeys.verify(userId, factor.passkey, webauthnChallenge))) {
        return 'passkey'
      }
      throw new AppError('mfa_code_invalid', 'The passkey could not be verified.')
    }
    const totp = factors.totp
    if (factor.code !== undefined) {
      if (!totp) throw wrongCode()
      const secret = await sealer.open(totp, totp.sealed)
      const step = totpStepOf(secret, factor.code, clock.now())
      if (step !== undefined && (await mfa.useTotpStep(userId, totp.enrolmentId, step))) {
        return 'totp'
      }
      throw wrongCode()
    }
    if (factor.recoveryCode !== undefined) {
      if (await mfa.useRecoveryCode(userId, hashRecoveryCode(userId, factor.recoveryCode))) {
        return 'recovery_code'
      }
      throw wrongCode()
    }
    throw new AppError('mfa_code_invalid', 'Enter the code from your authenticator app.')
  }

  /** Confirms a pending seed with its first code; returns the recovery codes (shown once). */
  async function confirmPending(userId: string, code: string): Promise<string[]> {
    const { totp, pendingTotp } = await mfa.factors(userId)
    if (confirmed(totp)) {
      throw new AppError('conflict', 'A second factor is set up already; remove it first.')
    }
    if (!pendingTotp || Date.parse(pendingTotp.expiresAt ?? '') <= clock.now()) {
      throw new AppError('conflict', 'Start the set-up again: no new authenticator is waiting.')
    }
    const secret = await sealer.open(pendingTotp, pendingTotp.sealed)
    const step = totpStepOf(secret, code, clock.now())
    if (step === undefined) throw wrongCode()
    const codes = newRecoveryCodes()
    const done = await mfa.confirmTotp({
      pending: pendingTotp,
      step,
      at: nowIso(),
      recoveryHashes: codes.map((c) => hashRecoveryCode(userId, c)),
    })
    if (!done) throw new AppError('conflict', 'The set-up changed meanwhile; start it again.')
    return codes
  }

  async function startPending(
    userId: string,
    email: string,
  ): Promise<TotpEnrolment & { expiresAt: string }> {
    if (confirmed((await mfa.factors(userId)).totp)) {
      throw new AppError('conflict', 'A second factor is set up already; remove it first.')
    }
    const enrolment = newTotpEnrolment(email, deps.issuer)
    const enrolmentId = newId('mfa')
    const now = clock.now()
    const expiresAt = new Date(now + PENDING_TOTP_TTL_SECONDS * 1000).toISOString()
    await mfa.putPendingTotp({
      userId,
      enrolmentId,
      sealed: await sealer.seal({ userId, enrolmentId }, enrolment.secret),
      createdAt: new Date(now).toISOString(),
      expiresAt,
    })
    return { ...enrolment, expiresAt }
  }

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
    verifyFactor,
    /** False when the public URL gives no RP id (an IP address, or none configured). */
    passkeysAvailable: passkeys.available,

    async describe(userId: string) {
      const { totp, recoveryCodes, passkeys: keys, any } = await factorsOf(userId)
      return {
        totp: { enabled: totp !== undefined, confirmedAt: totp?.confirmedAt ?? null },
        passkeys: keys.map((k) => ({
          id: k.credentialId,
          name: k.name,
          createdAt: k.createdAt,
          lastUsedAt: k.lastUsedAt ?? null,
        })),
        recoveryCodesRemaining: any ? recoveryCodes.length : 0,
      }
    },

    /** WebAuthn creation options for a new passkey of the session's person. */
    passkeyRegistrationOptions: (principal: Principal) =>
      withPerson(principal, (u) => passkeys.registrationOptions(u)),

    /**
     * Keeps a passkey registered with those options. A person's first factor also brings the
     * recovery codes (shown once).
     */
    async registerPasskey(principal: Principal, response: RegistrationResponseJSON, name: string) {
      return withPerson(principal, async ({ userId }) => {
        const hadFactor = (await factorsOf(userId)).any
        const passkey = await passkeys.register(userId, response, name)
        if (hadFactor) return { passkey }
        const codes = newRecoveryCodes()
        await mfa.replaceRecoveryCodes(
          userId,
          codes.map((c) => hashRecoveryCode(userId, c)),
          nowIso(),
        )
        return { passkey, recoveryCodes: codes }
      })
    },

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

    /** Set-up from a session: a new seed, shown once, to confirm with a code. */
    startTotp: (principal: Principal) =>
      withPerson(principal, (u) => startPending(u.userId, u.email)),

    confirmTotp: (principal: Principal, code: string) =>
      withPerson(principal, (u) => confirmPending(u.userId, code)),

    /** A person removes their own factor with a code from it; refused where MFA is required. */
    async removeTotp(
      principal: Principal,
      organization: Pick<OrganizationRecord, 'mfaRequired'>,
      factor: SecondFactor,
    ) {
      const userId = await withPerson(principal, async (u) => u.userId)
      const { passkeys: keys } = await factorsOf(userId)
      if (organization.mfaRequired && keys.length === 0) {
        throw new AppError(
          'conflict',
          'This organization requires a second factor: set up another before removing this one.',
        )
      }
      await verifyFactor(userId, factor)
      // With passkeys left, the recovery codes stay: they stand in for those too.
      if (keys.length > 0) await mfa.removeTotp(userId)
      else await mfa.removeAll(userId)
    },

    /** New recovery codes (shown once) replace the unused ones; needs a code from the app. */
    async renewRecoveryCodes(principal: Principal, code: string): Promise<string[]> {
      const userId = await withPerson(principal, async (u) => u.userId)
      await verifyFactor(userId, { code })
      const codes = newRecoveryCodes()
      await mfa.replaceRecoveryCodes(
        userId,
        codes.map((c) => hashRecoveryCode(userId, c)),
        nowIso(),
      )
      return codes
    },

    challengeAfterPassword,

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

    /**
     * "MFA required" for an organization: its owner only, from a session that proved a second
     * factor (so the switch cannot lock its owner out).
     */
    async setRequired(
      principal: Principal,
      organization: Pick<OrganizationRecord, 'tenantId'>,
      required: boolean,
    ): Promise<OrganizationRecord> {
      // The role read with the session's status at this request (auth/roles.ts).
      if (principal.kind !== 'session' || principal.member?.role !== 'owner') {
        throw new AppError(
          'insufficient_scope',
          'Only an owner of the organization can change this.',
        )
      }
      if (required && !principal.mfaAt) {
        throw new AppError(
          'step_up_required',
          'Sign in with your second factor first: requiring one needs a session that used one.',
        )
      }
      return accounts.setMfaRequired(organization.tenantId, required, new Date(clock.now()))
    },

    /** The operator's break-glass: every factor of the person with this e-mail goes. */
    async resetByEmail(email: string) {
      const user = await accounts.findUserByEmail(email)
      if (!user) return undefined
      const had = (await factorsOf(user.userId)).any
      await mfa.removeAll(user.userId)
      await passkeys.removeAll(user.userId)
      const organizations = (await deps.members.organizationsOf(user.userId)).map((m) => m.tenantId)
      // A person of an earlier release names their one organization on their own item.
      if (user.tenantId && !organizations.includes(user.tenantId)) organizations.push(user.tenantId)
      return { userId: user.userId, email: user.email, organizations, had }
    },
  }

  async function withPerson<T>(
    principal: Principal,
    run: (user: { userId: string; email: string }) => Promise<T>,
  ): Promise<T> {
    const user =
      principal.kind === 'session' && principal.userId
        ? await accounts.getUser(principal.userId)
        : undefined
    if (!user) {
      throw new AppError('session_required', 'Only a person’s session can manage a second factor.')
    }
    return run({ userId: user.userId, email: user.email })
  }
}

export type MfaService = ReturnType<typeof createMfaService>
