import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { roleSchema } from '../../auth/roles.ts'
import type { AccountService } from '../../domain/accounts.ts'
import { describeInvitation, type InvitationService } from '../../domain/invitations.ts'
import { describeMember } from '../../domain/members.ts'
import { audited, auditSuccess, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, jsonBody, problems } from '../schemas.ts'

const Invitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role: roleSchema,
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    createdBy: z.object({ type: z.literal('user'), id: z.string() }),
  })
  .openapi('Invitation')

const InviteBody = z.strictObject({
  email: z.string().trim().pipe(z.email().max(254)).openapi({ format: 'email', maxLength: 254 }),
  role: roleSchema.exclude(['owner']).openapi({
    description: 'Owners are made from members (PATCH the member, or transfer ownership)',
  }),
})

const Session = z.object({ token: z.string(), expiresAt: z.iso.datetime() })
const noStore = { 'cache-control': 'no-store' }
const tags = ['members']

const create = createRoute({
  method: 'post',
  path: '/v1/org/invitations',
  tags,
  summary: 'Invite an e-mail address with a role (owners and admins)',
  description:
    'With SMTP configured the link is mailed and `link` is null; without it, `link` is shown this once and never again.',
  security: bearer,
  request: jsonBody(InviteBody),
  responses: {
    201: {
      description: 'Invited',
      content: json(
        z.object({ invitation: Invitation, mailed: z.boolean(), link: z.string().nullable() }),
      ),
    },
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
})

const list = createRoute({
  method: 'get',
  path: '/v1/org/invitations',
  tags,
  summary: 'List pending invitations (owners and admins)',
  security: bearer,
  responses: {
    200: {
      description: 'Pending invitations',
      content: json(z.object({ items: z.array(Invitation) })),
    },
    ...problems(401, 403),
  },
})

const revoke = createRoute({
  method: 'delete',
  path: '/v1/org/invitations/{id}',
  tags,
  summary: 'Revoke a pending invitation (owners and admins)',
  security: bearer,
  request: { params: z.object({ id: z.string().max(64) }) },
  responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404, 422) },
})

const accept = createRoute({
  method: 'post',
  path: '/v1/invitations/accept',
  tags,
  summary: 'Accept an invitation as the invited, confirmed address; returns a session there',
  security: bearer,
  request: jsonBody(z.strictObject({ code: z.string().min(1).max(300) })),
  responses: {
    200: {
      description: 'Joined: a new session in the organization',
      content: json(
        z.object({
          organization: z.object({ id: z.string() }),
          member: z.object({ userId: z.string(), role: roleSchema, joinedAt: z.iso.datetime() }),
          session: Session,
        }),
      ),
    },
    ...problems(400, 401, 403, 404, 409, 410, 413, 415, 422),
  },
})

export function invitationRoutes({
  invitations,
  accounts,
  authenticator,
  audit,
}: {
  invitations: InvitationService
  accounts: Pick<AccountService, 'switchOrganization'>
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/org/invitations', requireAuth({ authenticator }))
  router.use('/v1/org/invitations/*', requireAuth({ authenticator }))
  router.use('/v1/invitations/accept', requireAuth({ authenticator }))
  return router
    .openapi(create, async (c) => {
      const body = c.req.valid('json')
      const result = await audited(
        c,
        audit,
        (done) => ({
          action: 'invitation.create',
          target: { type: 'invitation', id: done.record.invitationId, name: done.record.email },
          details: { role: done.record.role, mailed: done.mailed },
        }),
        () => invitations.create(c.get('principal'), body),
        { action: 'invitation.create', target: { type: 'invitation', id: '(new)' } },
      )
      return c.json(
        {
          invitation: describeInvitation(result.record),
          mailed: result.mailed,
          link: result.link ?? null,
        },
        201,
        noStore,
      )
    })
    .openapi(list, async (c) => {
      const pending = await invitations.listPending(c.get('principal'))
      return c.json({ items: pending.map(describeInvitation) }, 200)
    })
    .openapi(revoke, async (c) => {
      const { id } = c.req.valid('param')
      await audited(
        c,
        audit,
        (record) => ({
          action: 'invitation.revoke',
          target: { type: 'invitation', id, name: record.email },
        }),
        () => invitations.revoke(c.get('principal'), id),
        { action: 'invitation.revoke', target: { type: 'invitation', id } },
      )
      return c.body(null, 204)
    })
    .openapi(accept, async (c) => {
      const principal = c.get('principal')
      const { invitation, member } = await invitations.accept(principal, c.req.valid('json').code)
      const target = { type: 'user' as const, id: member.userId, name: member.email }
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
        target,
        details: { role: member.role, via: 'invitation', invitedBy: invitation.createdBy.id },
      })
      const opened = await accounts.switchOrganization(principal, invitation.tenantId)
      const described = describeMember(member)
      return c.json(
        {
          organization: { id: invitation.tenantId },
          member: { userId: described.userId, role: described.role, joinedAt: described.joinedAt },
          session: opened.session,
        },
        200,
        noStore,
      )
    })
}
