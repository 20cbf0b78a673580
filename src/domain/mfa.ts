import type { RegistrationResponseJSON } from '../auth/passkeys.ts'
import type { Principal } from '../auth/principal.ts'
import { hashRecoveryCode, newRecoveryCodes } from '../auth/recovery-codes.ts'
import { AppError } from '../errors.ts'
import type { AccountRepository, OrganizationRecord } from '../storage/accounts.ts'
import type { LoginThrottle } from '../storage/login-throttle.ts'
import type { MemberRepository } from '../storage/members.ts'
import { createMfaChallenges } from './mfa-challenge.ts'
import { createFactorChecks, type FactorDeps, type SecondFactor } from './mfa-factors.ts'

export interface MfaServiceDeps extends FactorDeps {
  accounts: Pick<AccountRepository, 'findUserByEmail' | 'getUser' | 'setMfaRequired'>
  /** Where a reset is filed: every organization the person belongs to. */
  members: Pick<MemberRepository, 'organizationsOf'>
  throttle: Pick<LoginThrottle, 'login' | 'succeeded'>
}

/**
 * A person's second factor: TOTP with single-use recovery codes, the challenge that sits
 * between a correct password and a session (mfa-challenge.ts), and an organization's "MFA
 * required" switch. Sessions are issued by the account service; this one says who proved what.
 */
export function createMfaService(deps: MfaServiceDeps) {
  const { mfa, accounts, clock, passkeys } = deps
  const nowIso = () => new Date(clock.now()).toISOString()

  const factors = createFactorChecks(deps)
  const { factorsOf, verifyFactor, confirmPending, startPending } = factors
  const challenges = createMfaChallenges({ ...deps, factors })

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

    ...challenges,

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
