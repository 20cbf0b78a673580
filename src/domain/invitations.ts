import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Principal } from '../auth/principal.ts'
import { mayManageMember, type Role, requireMemberManager } from '../auth/roles.ts'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { isId, newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { Mailer } from '../mail/mailer.ts'
import type { AccountRepository } from '../storage/accounts.ts'
import {
  AlreadyMember,
  type InvitationRecord,
  type InvitationRepository,
  InvitationSpent,
} from '../storage/invitations.ts'
import type { MemberRepository, MembershipRecord } from '../storage/members.ts'
import { normalizeEmail } from './accounts.ts'

/** How long an invitation can be accepted. */
export const INVITATION_TTL_MS = 7 * 86_400_000

/** The path of the page an invitation link opens; the code follows in the fragment. */
export const ACCEPT_PAGE_PATH = '/invitations/accept'

export interface InvitationServiceDeps {
  invitations: InvitationRepository
  members: Pick<MemberRepository, 'get'>
  accounts: Pick<AccountRepository, 'getUser' | 'findUserByEmail' | 'getOrganization'>
  mailer: Mailer
  config: Pick<Config, 'linkBase' | 'mail'>
  clock: Clock
  logger: Pick<Logger, 'warn'>
  /** Drops cached token status on this instance after a new member joins. */
  onChanged: (tenantId: string) => void
}

/** What callers see of an invitation: never its secret or the secret's hash. */
export function describeInvitation(record: InvitationRecord) {
  return {
    id: record.invitationId,
    email: record.email,
    role: record.role,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    createdBy: record.createdBy,
  }
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest()

const invalid = () =>
  new AppError('invitation_invalid', 'This invitation does not exist, was used or was revoked.')

/**
 * The code a link carries: `<organization id>.<invitation id>.<secret>`. Ids name where the
 * invitation is; only the secret (256 random bits, stored as its SHA-256) proves it.
 */
function parseCode(code: string) {
  const [tenantId = '', invitationId = '', secret = '', ...rest] = code.split('.')
  if (rest.length > 0 || !isId('org', tenantId) || !isId('inv', invitationId) || !secret) {
    return undefined
  }
  return { tenantId, invitationId, secret }
}

/**
 * Invitations: an owner or admin invites an address with a role. The link it sends (or, with
 * no SMTP server, shows once to the inviter) works only for a person signed in as that
 * address, once it is confirmed, and only once, within 7 days, unless revoked.
 */
export function createInvitationService(deps: InvitationServiceDeps) {
  const { invitations, members, accounts, mailer, config, clock, logger } = deps

  return {
    async create(principal: Principal, input: { email: string; role: Role }) {
      const actor = requireMemberManager(principal)
      if (input.role === 'owner' || !mayManageMember(actor.role, input.role, input.role)) {
        throw new AppError(
          'role_forbids',
          input.role === 'owner'
            ? 'Invite as admin, then make the member owner.'
            : `A ${actor.role} cannot invite a ${input.role}.`,
        )
      }
      if (!config.linkBase) {
        throw new AppError(
          'public_url_required',
          'Invitations need links: the operator must set KEYSTASH_PUBLIC_URL.',
        )
      }
      const email = normalizeEmail(input.email)
      const existing = await accounts.findUserByEmail(email)
      if (existing && (await members.get(principal.tenantId, existing.userId))) {
        throw new AppError('conflict', 'This address already belongs to a member.')
      }
      const now = clock.now()
      const secret = randomBytes(32).toString('base64url')
      const record: InvitationRecord = {
        tenantId: principal.tenantId,
        invitationId: newId('inv', now),
        email,
        role: input.role,
        secretHash: hashOf(secret).toString('hex'),
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + INVITATION_TTL_MS).toISOString(),
        createdBy: { type: 'user', id: principal.userId ?? '' },
      }
      await invitations.put(record)
      const link = `${config.linkBase}${ACCEPT_PAGE_PATH}#${record.tenantId}.${record.invitationId}.${secret}`
      if (!mailer.configured) return { record, link, mailed: false }
      const organization = await accounts.getOrganization(principal.tenantId)
      try {
        await mailer.send({
          to: email,
          subject: `You are invited to ${organization?.name ?? 'an organization'} on Keystash`,
          text: [
            `You are invited to join ${organization?.name ?? 'an organization'} on Keystash as ${record.role}.`,
            '',
            `Sign in (or sign up) as ${email}, then open this link within 7 days:`,
            link,
            '',
            'The link works once, and only for that address.',
          ].join('\n'),
        })
      } catch (error) {
        // The invitation stands; the inviter can revoke it and try again.
        logger.warn(
          {
            tenantId: record.tenantId,
            invitationId: record.invitationId,
            error: (error as Error)?.name,
          },
          'invitation mail not sent',
        )
        throw new AppError(
          'mail_unavailable',
          'The invitation was saved but its mail could not be sent; revoke it and try again.',
        )
      }
      return { record, link: undefined, mailed: true }
    },

    async listPending(principal: Principal) {
      requireMemberManager(principal)
      return invitations.listPending(principal.tenantId, new Date(clock.now()).toISOString())
    },

    async revoke(principal: Principal, invitationId: string) {
      requireMemberManager(principal)
      const record = isId('inv', invitationId)
        ? await invitations.get(principal.tenantId, invitationId)
        : undefined
      if (
        !record ||
        !(await invitations.revoke(principal.tenantId, invitationId, new Date(clock.now())))
      ) {
        throw new AppError('not_found', 'No such pending invitation.')
      }
      return record
    },

    /**
     * Accepts an invitation as the person signed in: their address must be the invited one and
     * confirmed. Spent, revoked and unknown codes answer alike.
     */
    async accept(
      principal: Principal,
      code: string,
    ): Promise<{ invitation: InvitationRecord; member: MembershipRecord }> {
      if (principal.kind !== 'session' || !principal.userId) {
        throw new AppError('session_required', 'Sign in as the invited address to accept.')
      }
      const parsed = parseCode(code)
      const invitation = parsed && (await invitations.get(parsed.tenantId, parsed.invitationId))
      if (
        !parsed ||
        !invitation ||
        !timingSafeEqual(hashOf(parsed.secret), Buffer.from(invitation.secretHash, 'hex')) ||
        invitation.acceptedAt ||
        invitation.revokedAt
      ) {
        throw invalid()
      }
      // An invitation grants access later, so it stops when its inviter can no longer invite
      // to that role (they left, or were demoted).
      const inviter = await members.get(invitation.tenantId, invitation.createdBy.id)
      if (!inviter || !mayManageMember(inviter.role, invitation.role, invitation.role)) {
        throw invalid()
      }
      const now = clock.now()
      if (Date.parse(invitation.expiresAt) <= now) {
        throw new AppError('invitation_expired', 'This invitation has expired; ask for a new one.')
      }
      const user = await accounts.getUser(principal.userId)
      if (!user || normalizeEmail(user.email) !== invitation.email) {
        throw new AppError(
          'invitation_wrong_address',
          'This invitation is for another address: sign in as the invited address to accept it.',
        )
      }
      if (mailer.configured && !user.emailConfirmedAt) {
        throw new AppError(
          'email_unconfirmed',
          'Confirm your e-mail address first (follow the link mailed at sign-up).',
        )
      }
      const member: MembershipRecord = {
        tenantId: invitation.tenantId,
        userId: user.userId,
        email: invitation.email,
        role: invitation.role,
        joinedAt: new Date(now).toISOString(),
        signInMethod: 'password',
      }
      try {
        await invitations.accept(invitation, member)
      } catch (error) {
        if (error instanceof AlreadyMember) {
          throw new AppError('conflict', 'You are already a member of this organization.')
        }
        if (error instanceof InvitationSpent) throw invalid()
        throw error
      }
      deps.onChanged(invitation.tenantId)
      return { invitation, member }
    },
  }
}

export type InvitationService = ReturnType<typeof createInvitationService>
