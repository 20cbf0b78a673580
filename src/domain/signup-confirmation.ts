import { createHash, randomBytes } from 'node:crypto'
import { hashPassword } from '../auth/passwords.ts'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { Mailer } from '../mail/mailer.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import type { PendingSignupStore } from '../storage/signups.ts'
import { type AccountService, normalizeEmail } from './accounts.ts'

/** How long a confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 3_600_000

/** The page a confirmation link opens; the secret follows in the fragment. */
export const CONFIRM_PAGE_PATH = '/confirm'

export interface SignupConfirmationDeps {
  accounts: Pick<AccountService, 'admitSignup' | 'openAccount'>
  users: Pick<AccountRepository, 'findUserByEmail'>
  pending: PendingSignupStore
  mailer: Mailer
  config: Pick<Config, 'linkBase'>
  clock: Clock
  logger: Pick<Logger, 'warn'>
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex')

/**
 * Sign-up that proves the address (with SMTP configured): the request mails a one-time link
 * and answers the same whether or not the address already has an account, so sign-up no
 * longer tells anyone which addresses are registered. A known address gets a mail saying so
 * (and nothing else happens); a new one gets the link, and the account exists once the link's
 * secret comes back, within 24 hours, once.
 */
export function createSignupConfirmation(deps: SignupConfirmationDeps) {
  const { accounts, users, pending, mailer, config, clock, logger } = deps

  async function send(to: string, subject: string, lines: string[]) {
    try {
      await mailer.send({ to, subject, text: lines.join('\n') })
    } catch (error) {
      logger.warn({ error: (error as Error)?.name }, 'sign-up mail not sent')
      throw new AppError(
        'mail_unavailable',
        'The confirmation mail could not be sent; try again later.',
      )
    }
  }

  return {
    /** True when sign-up goes through a mailed confirmation. */
    get enabled() {
      return mailer.configured
    },

    async request(input: {
      email: string
      password: string
      organization?: string
      address?: string
    }): Promise<{ email: string }> {
      await accounts.admitSignup(input)
      if (!config.linkBase) {
        throw new AppError(
          'public_url_required',
          'Confirmation mail needs links: the operator must set KEYSTASH_PUBLIC_URL.',
        )
      }
      const email = normalizeEmail(input.email)
      // Hashed either way, so both answers take the same time.
      const passwordHash = await hashPassword(input.password)
      if (await users.findUserByEmail(email)) {
        await send(email, 'Someone tried to sign up to Keystash with your address', [
          'Someone (perhaps you) tried to create a Keystash account with this address, which already has one.',
          '',
          'If it was you, sign in instead. If not, you can ignore this mail: nothing was changed.',
        ])
        return { email }
      }
      const now = clock.now()
      const secret = randomBytes(32).toString('base64url')
      await pending.put(hashOf(secret), {
        email,
        passwordHash,
        ...(input.organization ? { organization: input.organization } : {}),
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + CONFIRMATION_TTL_MS).toISOString(),
      })
      await send(email, 'Confirm your Keystash account', [
        'Open this link within 24 hours to confirm your address and create your account:',
        `${config.linkBase}${CONFIRM_PAGE_PATH}#${secret}`,
        '',
        'If you did not sign up, ignore this mail: no account is created without it.',
      ])
      return { email }
    },

    /** Creates the account whose confirmation secret this is; once, within 24 hours. */
    async confirm(secret: string) {
      const taken = await pending.take(hashOf(secret))
      if (!taken || Date.parse(taken.expiresAt) <= clock.now()) {
        throw new AppError(
          'confirmation_invalid',
          'This confirmation link is unknown, used or expired; sign up again.',
        )
      }
      try {
        return await accounts.openAccount({
          email: taken.email,
          passwordHash: taken.passwordHash,
          organization: taken.organization,
          emailConfirmedAt: new Date(clock.now()).toISOString(),
        })
      } catch (error) {
        // Two confirmations of the same address: the first made the account.
        if (error instanceof AppError && error.code === 'conflict') {
          throw new AppError(
            'confirmation_invalid',
            'This address already has an account; sign in.',
          )
        }
        throw error
      }
    },
  }
}

export type SignupConfirmation = ReturnType<typeof createSignupConfirmation>
