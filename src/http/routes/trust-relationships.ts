import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { environmentSchema } from '../../auth/principal.ts'
import { keyRestrictionsSchema, scopeSchema } from '../../auth/scopes.ts'
import { isJsonPointer } from '../../domain/trust/claim-conditions.ts'
import {
  describeTrustRelationship,
  MAX_EXCHANGED_TOKEN_TTL_SECONDS,
  type TrustRelationshipService,
} from '../../domain/trust/relationships.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, jsonBody, problems } from '../schemas.ts'

const Preset = z.enum(['github-actions', 'kubernetes', 'gitlab-ci', 'generic'])

const Condition = z
  .strictObject({
    claim: z
      .string()
      .refine(isJsonPointer, 'a JSON Pointer such as /repository_owner_id')
      .openapi({ example: '/repository_owner_id' }),
    match: z.enum(['exact', 'glob']).default('exact'),
    value: z.string().min(1).max(500).openapi({ description: 'With glob, * matches any run' }),
  })
  .openapi('ClaimCondition')

const Jwk = z.looseObject({ kty: z.string(), kid: z.string().max(200).optional() })

const CreateBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  preset: Preset,
  issuer: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .openapi({
      description:
        'The exact `iss` of the workload tokens (GitHub: https://token.actions.githubusercontent.com)',
    }),
  jwks: z
    .strictObject({ keys: z.array(Jwk).min(1).max(20) })
    .optional()
    .openapi({ description: 'A fixed public key set, for issuers this server cannot reach' }),
  audience: z.string().min(1).max(500).optional().openapi({
    description: 'The `aud` workload tokens must carry. Default: the relationship id',
  }),
  conditions: z.array(Condition).min(1).max(20),
  scopes: z.array(scopeSchema).min(1).max(6),
  keys: keyRestrictionsSchema.optional(),
  environment: environmentSchema,
  tokenTtlSeconds: z.number().int().min(60).max(MAX_EXCHANGED_TOKEN_TTL_SECONDS).optional(),
  maxSubjectTokenAgeSeconds: z.number().int().min(60).max(86_400).optional(),
  oneTimeUse: z.boolean().optional(),
})

const TrustRelationship = z
  .object({
    id: z.string(),
    name: z.string(),
    preset: Preset,
    issuer: z.string(),
    jwks: z.object({ keys: z.array(z.unknown()) }).nullable(),
    audience: z.string(),
    conditions: z.array(Condition),
    scopes: z.array(scopeSchema),
    keys: z.array(z.string()).nullable(),
    environment: environmentSchema,
    tokenTtlSeconds: z.number().int(),
    maxSubjectTokenAgeSeconds: z.number().int(),
    oneTimeUse: z.boolean(),
    createdAt: z.iso.datetime(),
    createdBy: z.object({ type: z.literal('user'), id: z.string() }),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .openapi('TrustRelationship')

const Id = z.object({ id: z.string().max(64) })
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(2048).optional(),
})
const tags = ['workload identity']

const create = createRoute({
  method: 'post',
  path: '/v1/trust-relationships',
  tags,
  summary: 'Trust a workload identity issuer (sessions only)',
  security: bearer,
  request: jsonBody(CreateBody),
  responses: {
    201: { description: 'Created', content: json(TrustRelationship) },
    ...problems(400, 401, 403, 413, 415, 422),
  },
})

const list = createRoute({
  method: 'get',
  path: '/v1/trust-relationships',
  tags,
  summary: 'List trust relationships, with when each was last used',
  security: bearer,
  request: { query: Page },
  responses: {
    200: {
      description: 'A page of relationships',
      content: json(
        z.object({ items: z.array(TrustRelationship), nextCursor: z.string().nullable() }),
      ),
    },
    ...problems(400, 401, 403, 422),
  },
})

const get = createRoute({
  method: 'get',
  path: '/v1/trust-relationships/{id}',
  tags,
  summary: 'Describe a trust relationship',
  security: bearer,
  request: { params: Id },
  responses: {
    200: { description: 'The relationship', content: json(TrustRelationship) },
    ...problems(401, 403, 404, 422),
  },
})

const remove = createRoute({
  method: 'delete',
  path: '/v1/trust-relationships/{id}',
  tags,
  summary: 'Delete a trust relationship and revoke every token it issued (sessions only)',
  security: bearer,
  request: { params: Id },
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 422) },
})

export function trustRelationshipRoutes({
  trustRelationships,
  authenticator,
  audit,
}: {
  trustRelationships: TrustRelationshipService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/trust-relationships', requireAuth({ authenticator }))
  router.use('/v1/trust-relationships/*', requireAuth({ authenticator }))
  return router
    .openapi(create, async (c) => {
      const body = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (created) => ({
          action: 'trust.create',
          target: { type: 'trust', id: created.relationshipId, name: created.name },
          details: {
            preset: created.preset,
            issuer: created.issuer,
            scopes: created.grant.scopes.join(' '),
            environment: created.grant.environment,
            oneTimeUse: created.oneTimeUse,
          },
        }),
        () => trustRelationships.create(c.get('principal'), body),
        { action: 'trust.create', target: { type: 'trust', id: '(new)', name: body.name } },
      )
      return c.json(describeTrustRelationship(record), 201)
    })
    .openapi(list, async (c) => {
      const page = await trustRelationships.list(c.get('principal'), c.req.valid('query'))
      return c.json(
        { items: page.items.map(describeTrustRelationship), nextCursor: page.nextCursor },
        200,
      )
    })
    .openapi(get, async (c) => {
      const record = await trustRelationships.get(c.get('principal'), c.req.valid('param').id)
      return c.json(describeTrustRelationship(record), 200)
    })
    .openapi(remove, async (c) => {
      const { id } = c.req.valid('param')
      await audited(c, audit, { action: 'trust.delete', target: { type: 'trust', id } }, () =>
        trustRelationships.delete(c.get('principal'), id),
      )
      return c.body(null, 204)
    })
}
