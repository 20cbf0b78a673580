import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { environmentSchema } from '../../auth/principal.ts'
import { keyRestrictionsSchema, scopeSchema } from '../../auth/scopes.ts'
import { describeToken, type TokenService } from '../../domain/tokens.ts'
import { audited, auditSuccess, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, problems } from '../schemas.ts'

const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z.enum(['session', 'access']),
    scopes: z.array(scopeSchema),
    keys: z.array(z.string()).nullable(),
    environment: environmentSchema.nullable(),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    createdBy: z.object({ type: z.enum(['user', 'token', 'trust']), id: z.string() }),
    workload: z.object({ issuer: z.string(), subject: z.string() }).nullable().openapi({
      description: 'For a token issued by a token exchange: the workload it was issued to',
    }),
  })
  .openapi('Token')

const CreateTokenBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(scopeSchema).min(1).max(6),
    expiresIn: z
      .number()
      .int()
      .positive()
      .optional()
      .openapi({ description: 'Lifetime in seconds (give this or expiresAt)' }),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    keys: keyRestrictionsSchema.optional().openapi({
      description:
        'Key ids or names this token may use; a trailing * matches a prefix. Omit for every key.',
    }),
    environment: environmentSchema.optional().openapi({ description: 'Default: production' }),
  })
  .refine((b) => (b.expiresIn === undefined) !== (b.expiresAt === undefined), {
    message: 'give exactly one of expiresIn and expiresAt',
    path: ['expiresIn'],
  })

const CreatedToken = TokenSchema.extend({
  token: z.string().openapi({ description: 'The token itself. Shown once; store it now.' }),
}).openapi('CreatedToken')

const TokenId = z.object({ id: z.string().max(64) })
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(2048).optional(),
})

const create = createRoute({
  method: 'post',
  path: '/v1/tokens',
  tags: ['tokens'],
  summary: 'Create an access token (scopes, keys and lifetime within the caller’s own)',
  security: bearer,
  request: {
    body: { required: true, content: { 'application/json': { schema: CreateTokenBody } } },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: CreatedToken } } },
    ...problems(400, 401, 403, 413, 415, 422),
  },
})

const list = createRoute({
  method: 'get',
  path: '/v1/tokens',
  tags: ['tokens'],
  summary: 'List access tokens (never their strings)',
  security: bearer,
  request: { query: Page },
  responses: {
    200: {
      description: 'A page of tokens',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(TokenSchema), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...problems(400, 401, 403, 422),
  },
})

const get = createRoute({
  method: 'get',
  path: '/v1/tokens/{id}',
  tags: ['tokens'],
  summary: 'Describe an access token',
  security: bearer,
  request: { params: TokenId },
  responses: {
    200: { description: 'The token', content: { 'application/json': { schema: TokenSchema } } },
    ...problems(401, 403, 404),
  },
})

const revoke = createRoute({
  method: 'delete',
  path: '/v1/tokens/{id}',
  tags: ['tokens'],
  summary: 'Revoke an access token (idempotent)',
  security: bearer,
  request: { params: TokenId },
  responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404) },
})

export function tokenRoutes({
  tokens,
  authenticator,
  clock,
  audit,
}: {
  tokens: TokenService
  authenticator: Pick<Authenticator, 'authenticate'>
  clock: { now(): number }
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/tokens', requireAuth({ authenticator }))
  router.use('/v1/tokens/*', requireAuth({ authenticator }))
  return router
    .openapi(create, async (c) => {
      const body = c.req.valid('json')
      const expiresAt =
        body.expiresAt !== undefined
          ? new Date(body.expiresAt)
          : new Date(clock.now() + (body.expiresIn ?? 0) * 1000)
      const { token, record } = await tokens.create(c.get('principal'), {
        name: body.name,
        scopes: body.scopes,
        expiresAt,
        ...(body.keys ? { keys: body.keys } : {}),
        ...(body.environment ? { environment: body.environment } : {}),
      })
      await auditSuccess(c, audit, {
        action: 'token.create',
        target: { type: 'token', id: record.tokenId, name: record.name ?? null },
        details: {
          scopes: record.scopes.join(' '),
          environment: record.environment ?? null,
          keys: record.keys?.join(' ') ?? null,
          expiresAt: record.expiresAt,
        },
      })
      return c.json({ ...describeToken(record), token }, 201, { 'cache-control': 'no-store' })
    })
    .openapi(list, async (c) => {
      const page = await tokens.list(c.get('principal'), c.req.valid('query'))
      return c.json({ items: page.items.map(describeToken), nextCursor: page.nextCursor }, 200)
    })
    .openapi(get, async (c) => {
      const record = await tokens.get(c.get('principal'), c.req.valid('param').id)
      return c.json(describeToken(record), 200)
    })
    .openapi(revoke, async (c) => {
      const { id } = c.req.valid('param')
      await audited(c, audit, { action: 'token.revoke', target: { type: 'token', id } }, () =>
        tokens.revoke(c.get('principal'), id),
      )
      return c.body(null, 204)
    })
}
