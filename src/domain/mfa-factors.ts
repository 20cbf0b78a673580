import type { AuthenticationResponseJSON } from '../auth/passkeys.ts'
import { hashRecoveryCode, newRecoveryCodes } from '../auth/recovery-codes.ts'
import { newTotpEnrolment, type TotpEnrolment, totpStepOf } from '../auth/totp.ts'
import type { TotpSeedSealer } from '../auth/totp-seed-sealer.ts'
import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { MfaRepository, StoredTotp } from '../storage/mfa.ts'
import type { PasskeyFactor } from './passkey-factor.ts'

/** How long a seed shown for enrolment waits for its first code. */
export const PENDING_TOTP_TTL_SECONDS = 15 * 60

export interface SecondFactor {
  code?: string | undefined
  recoveryCode?: string | undefined
  /** A WebAuthn assertion, answering the options of POST /v1/auth/mfa/passkey. */
  passkey?: AuthenticationResponseJSON | undefined
}

export type FactorMethod = 'totp' | 'recovery_code' | 'passkey'

export interface FactorDeps {
  mfa: MfaRepository
  sealer: TotpSeedSealer
  passkeys: PasskeyFactor
  clock: Clock
  /** Shown in authenticator apps next to the account (`Keystash (host)`). */
  issuer: string
}

export const wrongCode = () =>
  new AppError('mfa_code_invalid', 'The code is wrong, expired or was already used.')

/**
 * A person's factors and the checks on them, shared by the set-up from a session (mfa.ts) and
 * the second step of a login (mfa-challenge.ts): reading them, verifying one, and the two
 * steps of a TOTP set-up.
 */
export function createFactorChecks(deps: FactorDeps) {
  const { mfa, sealer, clock, passkeys } = deps
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

  return { factorsOf, verifyFactor, confirmPending, startPending }
}

export type FactorChecks = ReturnType<typeof createFactorChecks>
