import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { roleSchema } from '../../auth/roles.ts'
import { describeMember, type MemberService } from '../../domain/members.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, Flag, json, jsonBody, problems } from '../schemas.ts'

const Member = z
  .object({
    userId: z.string(),
    email: z.string(),
    role: roleSchema,
    joinedAt: z.iso.datetime(),
    lastSignInAt: z.iso.datetime().nullable(),
    signInMethod: z.enum(['password', 'sso']),
    productionReveal: z
      .object({ grantedBy: z.string(), grantedAt: z.iso.datetime() })
      .nullable()
      .openapi({ description: 'An owner’s grant to reveal production values (developers)' }),
  })
  .openapi('Member')

const TokenChanges = z
  .object({ narrowed: z.number().int(), revoked: z.number().int() })
  .openapi({ description: 'The member’s access tokens narrowed or revoked to fit the change' })

const UserId = z.object({ userId: z.string().max(64) })
const tags = ['members']

const list = createRoute({
  method: 'get',
  path: '/v1/org/members',
  tags,
  summary: 'List the organization’s members: role, joined, last sign-in, sign-in method',
  security: bearer,
  responses: {
    200: { description: 'The members', content: json(z.object({ items: z.array(Member) })) },
    ...problems(401, 403),
  },
})

const get = createRoute({
  method: 'get',
  path: '/v1/org/members/{userId}',
  tags,
  summary: 'Describe a member',
  security: bearer,
  request: { params: UserId },
  responses: {
    200: { description: 'The member', content: json(Member) },
    ...problems(401, 403, 404, 422),
  },
})

const changeRole = createRoute({
  method: 'patch',
  path: '/v1/org/members/{userId}',
  tags,
  summary: 'Change a member’s role; their tokens are narrowed to it (owners and admins)',
  security: bearer,
  request: { params: UserId, ...jsonBody(z.strictObject({ role: roleSchema })) },
  responses: {
    200: {
      description: 'The member with the new role',
      content: json(z.object({ member: Member, tokens: TokenChanges })),
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

const remove = createRoute({
  method: 'delete',
  path: '/v1/org/members/{userId}',
  tags,
  summary:
    'Remove a member (or leave): their sessions end, their tokens are revoked unless keepTokens=true',
  security: bearer,
  request: {
    params: UserId,
    query: z.object({
      keepTokens: Flag.optional().openapi({
        description: 'true: the access tokens the member minted keep working (audited)',
      }),
    }),
  },
  responses: { 204: { description: 'Removed' }, ...problems(400, 401, 403, 404, 409, 422) },
})

const grant = createRoute({
  method: 'put',
  path: '/v1/org/members/{userId}/production-reveal',
  tags,
  summary: 'Grant or withdraw a member’s production reveals (owners)',
  security: bearer,
  request: { params: UserId, ...jsonBody(z.strictObject({ granted: z.boolean() })) },
  responses: {
    200: {
      description: 'The member',
      content: json(z.object({ member: Member, tokens: TokenChanges })),
    },
    ...problems(400, 401, 403, 404, 413, 415, 422),
  },
})

const transfer = createRoute({
  method: 'post',
  path: '/v1/org/ownership',
  tags,
  summary: 'Make another member owner; the calling owner becomes admin',
  security: bearer,
  request: jsonBody(z.strictObject({ userId: z.string().max(64) })),
  responses: {
    200: { description: 'The new owner', content: json(z.object({ member: Member })) },
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

export function memberRoutes({
  members,
  authenticator,
  audit,
}: {
  members: MemberService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/org/members', requireAuth({ authenticator }))
  router.use('/v1/org/members/*', requireAuth({ authenticator }))
  router.use('/v1/org/ownership', requireAuth({ authenticator }))
  const target = (userId: string, email?: string) => ({
    type: 'user' as const,
    id: userId,
    ...(email ? { name: email } : {}),
  })
  return router
    .openapi(list, async (c) => {
      const items = await members.list(c.get('principal'))
      return c.json({ items: items.map(describeMember) }, 200)
    })
    .openapi(get, async (c) => {
      const record = await members.get(c.get('principal'), c.req.valid('param').userId)
      return c.json(describeMember(record), 200)
    })
    .openapi(changeRole, async (c) => {
      const { userId } = c.req.valid('param')
      const { role } = c.req.valid('json')
      const result = await audited(
        c,
        audit,
        (done) => ({
          action: 'member.role.change',
          target: target(userId, done.member.email),
          details: {
            from: done.from,
            to: role,
            tokensNarrowed: done.tokens.narrowed,
            tokensRevoked: done.tokens.revoked,
          },
        }),
        () => members.changeRole(c.get('principal'), userId, role),
        { action: 'member.role.change', target: target(userId), details: { to: role } },
      )
      return c.json({ member: describeMember(result.member), tokens: result.tokens }, 200)
    })
    .openapi(remove, async (c) => {
      const { userId } = c.req.valid('param')
      const keepTokens = c.req.valid('query').keepTokens === 'true'
      await audited(
        c,
        audit,
        (done) => ({
          action: 'member.remove',
          target: target(userId, done.member.email),
          details: {
            role: done.member.role,
            keepTokens,
            tokensRevoked: done.tokensRevoked,
            sessionsEnded: done.sessionsEnded,
          },
        }),
        () => members.remove(c.get('principal'), userId, { keepTokens }),
        { action: 'member.remove', target: target(userId), details: { keepTokens } },
      )
      return c.body(null, 204)
    })
    .openapi(grant, async (c) => {
      const { userId } = c.req.valid('param')
      const { granted } = c.req.valid('json')
      const result = await audited(
        c,
        audit,
        (done) => ({
          action: 'member.grant.change',
          target: target(userId, done.member.email),
          details: {
            grant: 'production-reveal',
            granted,
            tokensNarrowed: done.tokens.narrowed,
            tokensRevoked: done.tokens.revoked,
          },
        }),
        () => members.setProductionReveal(c.get('principal'), userId, granted),
        { action: 'member.grant.change', target: target(userId), details: { granted } },
      )
      return c.json({ member: describeMember(result.member), tokens: result.tokens }, 200)
    })
    .openapi(transfer, async (c) => {
      const { userId } = c.req.valid('json')
      const result = await audited(
        c,
        audit,
        (done) => ({
          action: 'member.ownership.transfer',
          target: target(userId, done.member.email),
          details: { tokensNarrowed: done.tokens.narrowed, tokensRevoked: done.tokens.revoked },
        }),
        () => members.transferOwnership(c.get('principal'), userId),
        { action: 'member.ownership.transfer', target: target(userId) },
      )
      return c.json({ member: describeMember(result.member) }, 200)
    })
}
