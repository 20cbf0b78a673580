import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { environmentSchema } from '../../auth/principal.ts'
import {
  keyRestrictionsSchema,
  normalizeScopes,
  SCOPES,
  scopeSchema,
  TENANT_WIDE_SCOPES,
} from '../../auth/scopes.ts'
import { MAX_TOKEN_TTL_SECONDS } from '../../config.ts'
import { describeToken, type TokenService } from '../../domain/tokens.ts'
import { audited, auditSuccess, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, LifetimeFilters, problems } from '../schemas.ts'

const RateLimitSchema = z.strictObject({
  // At least one request per 1000 s: DynamoDB cannot store a number nearer 0 than 1e-130 (a
  // denormal rate such as 5e-324 was a 500), and no useful limit is slower than that.
  rate: z.number().min(0.001).max(1_000_000).openapi({
    description: 'Requests per second (0.001 to 1,000,000)',
  }),
  burst: z.number().int().min(1).max(10_000_000).openapi({ description: 'Largest burst' }),
})

// What canonicalCidr (net/cidr.ts) reads, as a pattern the document can carry: an IPv4 or IPv6
// address (no leading zeros in IPv4 parts; IPv6 may end in a dotted IPv4 address), with an
// optional prefix length. The server reads the strings itself; this tells clients (and schema
// generators) which strings it accepts.
const octet = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const ipv4 = `${octet}(?:\\.${octet}){3}`
const hex = '[0-9a-fA-F]{1,4}'
const ipv6 = [
  `(?:${hex}:){7}${hex}`,
  `(?:${hex}:){1,7}:`,
  `(?:${hex}:){1,6}:${hex}`,
  `(?:${hex}:){1,5}(?::${hex}){1,2}`,
  `(?:${hex}:){1,4}(?::${hex}){1,3}`,
  `(?:${hex}:){1,3}(?::${hex}){1,4}`,
  `(?:${hex}:){1,2}(?::${hex}){1,5}`,
  `${hex}:(?::${hex}){1,6}`,
  `:(?::${hex}){1,7}`,
  '::',
  `(?:${hex}:){6}${ipv4}`,
  `::(?:[fF]{4}:)?${ipv4}`,
].join('|')
const CIDR_PATTERN = `^(?:${ipv4}(?:/(?:3[0-2]|[12]?\\d))?|(?:${ipv6})(?:/(?:12[0-8]|1[01]\\d|[1-9]?\\d))?)$`

const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z.enum(['session', 'access']),
    scopes: z.array(scopeSchema),
    keys: z.array(z.string()).nullable(),
    cidrs: z.array(z.string()).nullable(),
    environment: environmentSchema.nullable(),
    parentId: z
      .string()
      .nullable()
      .openapi({ description: 'The token that minted this one; null when a session did' }),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    createdBy: z.object({ type: z.enum(['user', 'token', 'trust']), id: z.string() }),
    rateLimit: RateLimitSchema.nullable().openapi({
      description: 'Its own rate limit; null: the server default applies',
    }),
    workload: z.object({ issuer: z.string(), subject: z.string() }).nullable().openapi({
      description: 'For a token issued by a token exchange: the workload it was issued to',
    }),
  })
  .openapi('Token')

// A scopes list holding a tenant-wide scope: not (every scope outside them). JSON Schema's
// `contains` would say it directly, but the metadata is typed after OpenAPI 3.0, which lacks it.
const tenantWideScope = { not: { items: { not: { enum: [...TENANT_WIDE_SCOPES, 'org:admin'] } } } }

const CreateTokenBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z
      .array(z.union([scopeSchema, z.literal('org:admin')]))
      .min(1)
      .max(SCOPES.length + 1)
      .openapi({
        description:
          'org:admin, the scope of earlier releases, is accepted and stands for org:read, org:write, mock:write and encryption:write',
      }),
    expiresIn: z.number().int().positive().max(MAX_TOKEN_TTL_SECONDS).optional().openapi({
      description:
        "Lifetime in seconds (give this or expiresAt): at most the server's maximum (KEYSTASH_TOKEN_MAX_TTL_SECONDS, 90 days by default) and never beyond the caller's own expiry",
    }),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'In the future, within the same bounds as expiresIn' }),
    keys: keyRestrictionsSchema.optional().openapi({
      description:
        'Key ids or names this token may use; a trailing * matches a prefix. Omit for every key. A token with keys cannot hold the tenant-wide scopes (org:read, org:write, mock:write, encryption:write, or org:admin, which stands for them): refused with 422.',
    }),
    cidrs: z
      .array(
        z.string().max(64).openapi({
          pattern: CIDR_PATTERN,
          description:
            'An IPv4 or IPv6 address, with an optional prefix length (10.0.0.0/8, 2001:db8::/32); a bare address is that one address. Anything else is refused with 422.',
        }),
      )
      .max(32)
      .optional()
      .openapi({
        description:
          'IPv4/IPv6 ranges (CIDR) the token may be used from. Default: those of the minting token (none: anywhere); a token minted by another can only narrow them (a wider range is refused with 403).',
      }),
    environment: environmentSchema.optional().openapi({ description: 'Default: production' }),
    rateLimit: RateLimitSchema.optional().openapi({
      description:
        'A rate limit of its own, at most the minter’s (default: the minter’s own token limit, else the server’s)',
    }),
  })
  .refine((b) => (b.expiresIn === undefined) !== (b.expiresAt === undefined), {
    message: 'give exactly one of expiresIn and expiresAt',
    path: ['expiresIn'],
  })
  // The refinement, as the document can say it; and the service's rule that a key-restricted
  // token holds no tenant-wide scope (domain/tokens.ts, refused with 422).
  .openapi({
    oneOf: [{ required: ['expiresIn'] }, { required: ['expiresAt'] }],
    not: {
      required: ['keys'],
      properties: { scopes: tenantWideScope },
    },
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
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
})

const list = createRoute({
  method: 'get',
  path: '/v1/tokens',
  tags: ['tokens'],
  summary:
    'List access tokens (never their strings): every one for a session, those below it for an access token',
  security: bearer,
  request: { query: Page.extend(LifetimeFilters) },
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
    ...problems(401, 403, 404, 422),
  },
})

const revoke = createRoute({
  method: 'delete',
  path: '/v1/tokens/{id}',
  tags: ['tokens'],
  summary: 'Revoke an access token and every token below it (idempotent)',
  security: bearer,
  request: { params: TokenId },
  responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404, 422) },
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
        scopes: normalizeScopes(body.scopes),
        expiresAt,
        ...(body.keys ? { keys: body.keys } : {}),
        ...(body.cidrs ? { cidrs: body.cidrs } : {}),
        ...(body.environment ? { environment: body.environment } : {}),
        ...(body.rateLimit ? { rateLimit: body.rateLimit } : {}),
      })
      await auditSuccess(c, audit, {
        action: 'token.create',
        target: { type: 'token', id: record.tokenId, name: record.name ?? null },
        details: {
          scopes: record.scopes.join(' '),
          environment: record.environment ?? null,
          keys: record.keys?.join(' ') ?? null,
          cidrs: record.cidrs?.join(' ') ?? null,
          parentId: record.ancestors?.at(-1) ?? null,
          expiresAt: record.expiresAt,
          rateLimit: record.rateLimit
            ? `${record.rateLimit.rate}/s burst ${record.rateLimit.burst}`
            : null,
        },
      })
      return c.json({ ...describeToken(record), token }, 201, { 'cache-control': 'no-store' })
    })
    .openapi(list, async (c) => {
      const { neverUsed, ...query } = c.req.valid('query')
      const page = await tokens.list(c.get('principal'), {
        ...query,
        neverUsed: neverUsed === 'true',
      })
      return c.json({ items: page.items.map(describeToken), nextCursor: page.nextCursor }, 200)
    })
    .openapi(get, async (c) => {
      const record = await tokens.get(c.get('principal'), c.req.valid('param').id)
      return c.json(describeToken(record), 200)
    })
    .openapi(revoke, async (c) => {
      const { id } = c.req.valid('param')
      // The event says how many tokens below it stopped with it.
      await audited(
        c,
        audit,
        ({ cascaded }) => ({
          action: 'token.revoke',
          target: { type: 'token', id },
          details: { cascadedTo: cascaded },
        }),
        () => tokens.revoke(c.get('principal'), id),
        { action: 'token.revoke', target: { type: 'token', id } },
      )
      return c.body(null, 204)
    })
}
