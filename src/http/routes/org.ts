import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { describeOrganization, type OrganizationService } from '../../domain/organizations.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, problems } from '../schemas.ts'

const MockSetting = z.enum(['mock', 'live'])
export const OrganizationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    mockDefaults: z.object({
      development: MockSetting,
      staging: MockSetting,
      production: MockSetting,
    }),
  })
  .openapi('Organization')

const get = createRoute({
  method: 'get',
  path: '/v1/org',
  tags: ['organization'],
  summary: 'Describe the caller’s organization',
  security: bearer,
  responses: {
    200: {
      description: 'The organization',
      content: { 'application/json': { schema: OrganizationSchema } },
    },
    ...problems(401, 403, 404),
  },
})

const update = createRoute({
  method: 'patch',
  path: '/v1/org',
  tags: ['organization'],
  summary: 'Rename the organization or change its mock-mode defaults per environment',
  security: bearer,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({
            name: z.string().trim().min(1).max(100).optional(),
            mockDefaults: z
              .strictObject({
                development: MockSetting.optional(),
                staging: MockSetting.optional(),
                production: MockSetting.optional(),
              })
              .optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The organization',
      content: { 'application/json': { schema: OrganizationSchema } },
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
})

const remove = createRoute({
  method: 'delete',
  path: '/v1/org',
  tags: ['organization'],
  summary: 'Delete the caller’s organization: every token of it stops working at once',
  security: bearer,
  responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404) },
})

export function orgRoutes({
  organizations,
  authenticator,
  audit,
}: {
  organizations: OrganizationService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/org', requireAuth({ authenticator }))
  return router
    .openapi(get, async (c) =>
      c.json(describeOrganization(await organizations.get(c.get('principal'))), 200),
    )
    .openapi(update, async (c) => {
      const changes = c.req.valid('json')
      const org = await audited(
        c,
        audit,
        (updated) => ({
          action: 'org.update',
          target: { type: 'org', id: updated.tenantId, name: updated.name },
          details: {
            ...(changes.name ? { name: changes.name } : {}),
            ...Object.fromEntries(
              Object.entries(changes.mockDefaults ?? {}).map(([env, mode]) => [
                `mockDefaults.${env}`,
                mode,
              ]),
            ),
          },
        }),
        () => organizations.update(c.get('principal'), changes),
        { action: 'org.update', target: { type: 'org', id: c.get('principal').tenantId } },
      )
      return c.json(describeOrganization(org), 200)
    })
    .openapi(remove, async (c) => {
      const tenantId = c.get('principal').tenantId
      await audited(c, audit, { action: 'org.delete', target: { type: 'org', id: tenantId } }, () =>
        organizations.delete(c.get('principal')),
      )
      return c.body(null, 204)
    })
}
