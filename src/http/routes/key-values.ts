import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { describeKey } from '../../domain/key-description.ts'
import type { KeyService } from '../../domain/keys.ts'
import type { ValueRead } from '../../reads/value-read.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { clientOf } from '../client.ts'
import { bearerToken, requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, jsonBody, problems } from '../schemas.ts'
import {
  KeySchema,
  KeyValueSchema,
  keyTarget,
  Ref,
  refTarget,
  Value,
  ValueQuery,
  VersionSchema,
} from './key-schemas.ts'

/**
 * A key's value and its versions: read it (reads/value-read.ts does the work), add a version,
 * list the versions.
 */
export function keyValueRoutes(deps: {
  keyService: KeyService
  read: ValueRead
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const { keyService, read, audit } = deps
  const auth = requireAuth({ authenticator: deps.authenticator })

  const readValue = createRoute({
    method: 'get',
    path: '/v1/keys/{ref}/value',
    tags: ['keys'],
    summary:
      'Reveal a key’s value (current or given version); mock or live per the token’s environment',
    security: bearer,
    request: { params: Ref, query: ValueQuery },
    responses: {
      200: {
        description: 'The value. `Keystash-Mode` says whether it is live or mock.',
        headers: { 'Keystash-Mode': { schema: { type: 'string', enum: ['mock', 'live'] } } },
        content: json(KeyValueSchema),
      },
      ...problems(401, 403, 404, 422, 429, 503),
    },
  })

  const putValue = createRoute({
    method: 'put',
    path: '/v1/keys/{ref}/value',
    tags: ['keys'],
    summary: 'Add a new version of the value (with a new data key)',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref, ...jsonBody(z.strictObject({ value: Value })) },
    responses: {
      200: { description: 'The key, with its new current version', content: json(KeySchema) },
      ...problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
  })

  const versions = createRoute({
    method: 'get',
    path: '/v1/keys/{ref}/versions',
    tags: ['keys'],
    summary: 'List a key’s versions (never values)',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref },
    responses: {
      200: {
        description: 'Versions, oldest first',
        content: json(z.object({ items: z.array(VersionSchema) })),
      },
      ...problems(401, 403, 404, 422),
    },
  })

  const router = createRouter()
  // Documented from `readValue`, but authenticated and validated by `read()` itself, which
  // also reads the key in the same round trip as the token's status.
  router.openAPIRegistry.registerPath(readValue)
  router.get('/v1/keys/:ref/value', (c) =>
    read({
      token: bearerToken(c),
      ref: c.req.param('ref'),
      version: c.req.query('version'),
      requestId: c.get('requestId'),
      traceId: c.get('trace')?.traceId,
      client: clientOf(c),
      admitted: (who) => {
        c.set('principal', who.principal)
        c.set('organization', who.organization)
        if (who.rateLimit) c.set('rateLimit', who.rateLimit.headers)
      },
    }),
  )

  return router
    .openapi(putValue, async (c) => {
      const { ref } = c.req.valid('param')
      const { value } = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (updated) => ({
          action: 'key.version.create',
          target: keyTarget(updated),
          details: { version: updated.currentVersion },
        }),
        () => keyService.addVersion(c.get('principal'), ref, value),
        { action: 'key.version.create', target: refTarget(ref) },
      )
      return c.json(describeKey(record), 200)
    })
    .openapi(versions, async (c) => {
      const { versions: items } = await keyService.versions(
        c.get('principal'),
        c.req.valid('param').ref,
      )
      return c.json(
        {
          items: items.map((v) => ({
            version: v.version,
            createdAt: v.createdAt,
            kek: { provider: v.sealed.kek.provider, version: v.sealed.kek.version },
          })),
        },
        200,
      )
    })
}
