import type { Principal } from '../auth/principal.ts'
import { AppError } from '../errors.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import type { SignIn } from './accounts.ts'
import type { SecondFactor } from './mfa-factors.ts'

export interface StepUpDeps {
  accounts: Pick<AccountRepository, 'getUser'>
  /** The account service's own steps: a step-up is a login of the same person, then a logout. */
  session: Pick<SignIn, 'login' | 'completeMfa' | 'logout'>
}

/** Confirming a session again: the password (and second factor) of the person behind it. */
export function createStepUp({ accounts, session }: StepUpDeps) {
  async function stepUpPerson(principal: Principal) {
    const user =
      principal.kind === 'session' && principal.userId && principal.member
        ? await accounts.getUser(principal.userId)
        : undefined
    if (!user) {
      throw new AppError('bad_request', 'Only a person’s session can be confirmed again.')
    }
    return user
  }

  return {
    /**
     * Step-up: the person behind a session proves it again with the password (and the second
     * factor, if they have one), through the same throttled checks as a login. The session is
     * replaced by a new one, whose issue time is the moment of the check, and the old one is
     * revoked.
     */
    async reauthenticate(
      principal: Principal,
      input: { password: string; address?: string; challenge?: string } & SecondFactor,
    ) {
      const user = await stepUpPerson(principal)
      const { code, recoveryCode, passkey, challenge, ...password } = input
      // A passkey answers the challenge of a password check made just before (beginStepUp).
      const first =
        challenge !== undefined
          ? { mfa: { challenge } }
          : await session.login({
              email: user.email,
              ...password,
              organization: principal.tenantId,
            })
      // The second factor too, for a person who has one: in the same request as the password.
      const result =
        'mfa' in first
          ? await session.completeMfa({
              challenge: first.mfa.challenge,
              code,
              recoveryCode,
              passkey,
              address: input.address,
            })
          : first
      if (result.userId !== user.userId || result.tenantId !== principal.tenantId) {
        throw new AppError('mfa_challenge_invalid', 'This confirmation belongs to another sign-in.')
      }
      await session.logout(principal)
      return result
    },

    /**
     * The password half of a step-up by passkey: the challenge whose WebAuthn options the
     * browser answers, then `reauthenticate` with that challenge and the assertion.
     */
    async beginStepUp(principal: Principal, input: { password: string; address?: string }) {
      const user = await stepUpPerson(principal)
      const first = await session.login({
        email: user.email,
        ...input,
        organization: principal.tenantId,
      })
      if (!('mfa' in first) || !first.mfa.methods.includes('passkey')) {
        throw new AppError('conflict', 'No passkey is registered: confirm with your password.')
      }
      return first.mfa
    },
  }
}
