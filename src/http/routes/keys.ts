import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { describeKey } from '../../domain/key-description.ts'
import type { KeyService } from '../../domain/keys.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, Flag, json, jsonBody, LifetimeFilters, problems } from '../schemas.ts'
import {
  DescriptionSchema,
  ExpiresAt,
  KeyNameSchema,
  KeySchema,
  keyTarget,
  MockOverrides,
  Provider,
  Ref,
  RotateEveryDays,
  refTarget,
  TagsSchema,
  Value,
} from './key-schemas.ts'

/** Keys and their metadata; their values are in key-values.ts. */
export function keyRoutes(deps: {
  keyService: KeyService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const { keyService, audit } = deps
  const auth = requireAuth({ authenticator: deps.authenticator })

  const create = createRoute({
    method: 'post',
    path: '/v1/keys',
    tags: ['keys'],
    summary: 'Store a new key (version 1)',
    security: bearer,
    middleware: [auth] as const,
    request: jsonBody(
      z.strictObject({
        name: KeyNameSchema,
        value: Value,
        provider: Provider.optional(),
        description: DescriptionSchema.optional(),
        tags: TagsSchema.optional(),
        expiresAt: ExpiresAt.optional(),
        rotateEveryDays: RotateEveryDays.optional(),
      }),
    ),
    responses: {
      201: { description: 'Created', content: json(KeySchema) },
      ...problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
  })

  const list = createRoute({
    method: 'get',
    path: '/v1/keys',
    tags: ['keys'],
    summary: 'List keys (metadata only), sorted by name',
    security: bearer,
    middleware: [auth] as const,
    request: {
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(50),
        cursor: z.string().max(2048).optional(),
        provider: Provider.optional(),
        tag: z.string().max(64).optional(),
        ...LifetimeFilters,
        rotationOverdue: Flag.optional().openapi({
          description: 'Only keys whose replacement is overdue',
        }),
      }),
    },
    responses: {
      200: {
        description: 'A page of keys',
        content: json(z.object({ items: z.array(KeySchema), nextCursor: z.string().nullable() })),
      },
      ...problems(400, 401, 403, 422),
    },
  })

  const get = createRoute({
    method: 'get',
    path: '/v1/keys/{ref}',
    tags: ['keys'],
    summary: 'Describe a key (never its value)',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref },
    responses: {
      200: { description: 'The key', content: json(KeySchema) },
      ...problems(401, 403, 404, 422),
    },
  })

  const update = createRoute({
    method: 'patch',
    path: '/v1/keys/{ref}',
    tags: ['keys'],
    summary: 'Change a key’s metadata and mock-mode overrides (names are permanent)',
    security: bearer,
    middleware: [auth] as const,
    request: {
      params: Ref,
      ...jsonBody(
        z.strictObject({
          description: DescriptionSchema.nullable().optional(),
          tags: TagsSchema.optional(),
          provider: Provider.optional(),
          mockOverrides: MockOverrides.optional(),
          expiresAt: ExpiresAt.nullable().optional(),
          rotateEveryDays: RotateEveryDays.nullable().optional(),
        }),
      ),
    },
    responses: {
      200: { description: 'Updated', content: json(KeySchema) },
      ...problems(400, 401, 403, 404, 409, 413, 415, 422),
    },
  })

  const remove = createRoute({
    method: 'delete',
    path: '/v1/keys/{ref}',
    tags: ['keys'],
    summary: 'Delete a key and every version’s ciphertext',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref },
    responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 422) },
  })

  return createRouter()
    .openapi(create, async (c) => {
      const input = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (created) => ({
          action: 'key.create',
          target: keyTarget(created),
          details: { provider: created.provider, version: 1 },
        }),
        () => keyService.create(c.get('principal'), input),
        { action: 'key.create', target: { type: 'key', id: input.name, name: input.name } },
      )
      return c.json(describeKey(record), 201)
    })
    .openapi(list, async (c) => {
      const { neverUsed, rotationOverdue, ...query } = c.req.valid('query')
      const page = await keyService.list(c.get('principal'), {
        ...query,
        neverUsed: neverUsed === 'true',
        rotationOverdue: rotationOverdue === 'true',
      })
      return c.json({ items: page.items.map(describeKey), nextCursor: page.nextCursor }, 200)
    })
    .openapi(get, async (c) =>
      c.json(describeKey(await keyService.get(c.get('principal'), c.req.valid('param').ref)), 200),
    )
    .openapi(update, async (c) => {
      const { ref } = c.req.valid('param')
      const changes = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (updated) => ({
          action: 'key.update',
          target: keyTarget(updated),
          details: {
            fields: Object.keys(changes).join(' '),
            ...Object.fromEntries(
              Object.entries(changes.mockOverrides ?? {}).map(([env, mode]) => [
                `mockOverrides.${env}`,
                mode ?? null,
              ]),
            ),
          },
        }),
        () => keyService.update(c.get('principal'), ref, changes),
        { action: 'key.update', target: refTarget(ref) },
      )
      return c.json(describeKey(record), 200)
    })
    .openapi(remove, async (c) => {
      const { ref } = c.req.valid('param')
      await audited(
        c,
        audit,
        (deleted) => ({
          action: 'key.delete',
          target: keyTarget(deleted),
          details: { versions: deleted.currentVersion },
        }),
        () => keyService.delete(c.get('principal'), ref),
        { action: 'key.delete', target: refTarget(ref) },
      )
      return c.body(null, 204)
    })
}
