import type { Context, Hono } from 'hono'
import { z } from 'zod'
import { roleSchema } from '../../auth/roles.ts'
import { describeInvitation } from '../../domain/invitations.ts'
import { describeMember } from '../../domain/members.ts'
import { AppError } from '../../errors.ts'
import { audited, auditSuccess } from '../audit.ts'
import { parseInput } from '../router.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf } from './form.ts'
import { MembersPage, OneTimeLinkPage } from './pages/members.tsx'
import { frameOf, render } from './render.ts'
import { csrfTokenFor } from './session-cookie.ts'

const UserId = z.string().max(64)
const Invite = z.object({
  email: z.string().trim().pipe(z.email().max(254)),
  role: roleSchema.exclude(['owner']),
})
const Code = z.string().min(1).max(300)

/** One-time links' pages send no Referer at all, whatever the browser's default. */
const noReferrer = (c: Context<DashboardEnv>) => c.header('referrer-policy', 'no-referrer')

/**
 * Members: the list, roles, removal, production-reveal grants and invitations; and the pages
 * that invitation and confirmation links open.
 */
export function registerMemberPages(
  router: Hono<DashboardEnv>,
  { members, invitations, accounts, signupConfirmation, audit }: DashboardDeps,
  { cookie, open, session }: PageKit,
) {
  async function page(c: Context<DashboardEnv>, invited?: { email: string; link: string | null }) {
    const principal = c.get('principal')
    const me = { userId: principal.userId ?? '', role: principal.member?.role ?? 'viewer' }
    const manager = me.role === 'owner' || me.role === 'admin'
    const [all, pending] = await Promise.all([
      members.list(principal),
      manager ? invitations.listPending(principal) : Promise.resolve(undefined),
    ])
    return render(
      c,
      <MembersPage
        frame={frameOf(c)}
        me={me}
        members={all.map(describeMember)}
        invitations={pending?.map(describeInvitation)}
        {...(invited ? { invited } : {})}
      />,
      invited ? 201 : 200,
    )
  }

  router.get('/members', session, (c) => page(c))

  router.post('/members/invite', session, async (c) => {
    const form = await formOf(c)
    const input = parseInput(Invite, { email: form.get('email') ?? '', role: form.get('role') })
    const result = await audited(
      c,
      audit,
      (done) => ({
        action: 'invitation.create',
        target: { type: 'invitation', id: done.record.invitationId, name: done.record.email },
        details: { role: done.record.role, mailed: done.mailed },
      }),
      () => invitations.create(c.get('principal'), input),
    )
    // Answered directly, not redirected: the link exists in this response and nowhere else.
    return page(c, { email: result.record.email, link: result.link ?? null })
  })

  router.post('/members/:userId/role', session, async (c) => {
    const userId = parseInput(UserId, c.req.param('userId'))
    const role = parseInput(roleSchema, (await formOf(c)).get('role'))
    await audited(
      c,
      audit,
      (done) => ({
        action: 'member.role.change',
        target: { type: 'user', id: userId, name: done.member.email },
        details: {
          from: done.from,
          to: role,
          tokensNarrowed: done.tokens.narrowed,
          tokensRevoked: done.tokens.revoked,
        },
      }),
      () => members.changeRole(c.get('principal'), userId, role),
    )
    return c.redirect('/members', 303)
  })

  router.post('/members/:userId/remove', session, async (c) => {
    const userId = parseInput(UserId, c.req.param('userId'))
    const keepTokens = (await formOf(c)).get('keepTokens') === 'true'
    await audited(
      c,
      audit,
      (done) => ({
        action: 'member.remove',
        target: { type: 'user', id: userId, name: done.member.email },
        details: {
          role: done.member.role,
          keepTokens,
          tokensRevoked: done.tokensRevoked,
          sessionsEnded: done.sessionsEnded,
        },
      }),
      () => members.remove(c.get('principal'), userId, { keepTokens }),
    )
    return c.redirect('/members', 303)
  })

  router.post('/members/:userId/grant', session, async (c) => {
    const userId = parseInput(UserId, c.req.param('userId'))
    const granted = (await formOf(c)).get('granted') === 'true'
    await audited(
      c,
      audit,
      (done) => ({
        action: 'member.grant.change',
        target: { type: 'user', id: userId, name: done.member.email },
        details: { grant: 'production-reveal', granted, tokensNarrowed: done.tokens.narrowed },
      }),
      () => members.setProductionReveal(c.get('principal'), userId, granted),
    )
    return c.redirect('/members', 303)
  })

  router.post('/invitations/:id/revoke', session, async (c) => {
    const id = parseInput(UserId, c.req.param('id'))
    await audited(
      c,
      audit,
      (record) => ({
        action: 'invitation.revoke',
        target: { type: 'invitation', id, name: record.email },
      }),
      () => invitations.revoke(c.get('principal'), id),
    )
    return c.redirect('/members', 303)
  })

  // The page an invitation link opens. Signed in, it offers to accept; otherwise it says how.
  router.get('/invitations/accept', open, (c) => {
    noReferrer(c)
    const token = cookie.read(c)
    return render(
      c,
      <OneTimeLinkPage
        nonce={c.get('nonce')}
        csrf={token ? csrfTokenFor(token) : undefined}
        title="Join an organization"
        action="/invitations/accept"
        explanation={
          token
            ? 'You are invited to join an organization. Accept as the address the invitation was sent to.'
            : 'Sign in (or sign up) as the invited address first, then open the invitation link again.'
        }
        button={token ? 'Accept invitation' : undefined}
      />,
    )
  })

  router.post('/invitations/accept', session, async (c) => {
    noReferrer(c)
    const code = parseInput(Code, (await formOf(c)).get('code') ?? '')
    const principal = c.get('principal')
    const { invitation, member } = await invitations.accept(principal, code)
    const actor = { type: 'user' as const, id: member.userId, name: member.email }
    await auditSuccess(c, audit, {
      action: 'invitation.accept',
      tenantId: invitation.tenantId,
      actor,
      target: { type: 'invitation', id: invitation.invitationId, name: invitation.email },
      details: { role: member.role },
    })
    await auditSuccess(c, audit, {
      action: 'member.add',
      tenantId: invitation.tenantId,
      actor,
      target: { type: 'user', id: member.userId, name: member.email },
      details: { role: member.role, via: 'invitation', invitedBy: invitation.createdBy.id },
    })
    const opened = await accounts.switchOrganization(principal, invitation.tenantId)
    cookie.write(c, opened.session.token, opened.session.expiresAt)
    return c.redirect('/members', 303)
  })

  // The page an address-confirmation link opens (sign-up with SMTP configured).
  router.get('/confirm', open, (c) => {
    noReferrer(c)
    return render(
      c,
      <OneTimeLinkPage
        nonce={c.get('nonce')}
        title="Confirm your address"
        action="/confirm"
        explanation="Confirm your e-mail address to create your account."
        button="Create my account"
      />,
    )
  })

  router.post('/confirm', open, async (c) => {
    noReferrer(c)
    if (!signupConfirmation.enabled) throw new AppError('not_found', 'No such page.')
    const code = parseInput(Code, (await formOf(c)).get('code') ?? '')
    const result = await signupConfirmation.confirm(code)
    await auditSuccess(c, audit, {
      action: 'auth.signup',
      tenantId: result.organization.id,
      actor: { type: 'user', id: result.user.id, name: result.user.email },
      target: { type: 'org', id: result.organization.id, name: result.organization.name },
      details: { emailConfirmed: true },
    })
    cookie.write(c, result.session.token, result.session.expiresAt)
    return c.redirect('/', 303)
  })
}
