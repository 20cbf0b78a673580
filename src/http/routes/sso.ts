import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { SsoSettingsService } from '../../domain/sso-settings.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, jsonBody, problems } from '../schemas.ts'

const tags = ['single sign-on']

const DomainSchema = z
  .object({
    domain: z.string(),
    verified: z.boolean(),
    verifiedAt: z.iso.datetime().nullable(),
    txtName: z.string().openapi({ description: 'the TXT record to publish' }),
    txtValue: z.string().openapi({ description: 'the value it must hold' }),
  })
  .openapi('SsoDomain')

const SsoSchema = z
  .object({
    issuer: z.string(),
    clientId: z.string(),
    clientSecretSet: z.boolean().openapi({ description: 'the secret itself is never returned' }),
    defaultRole: z.string(),
    required: z.boolean(),
    domains: z.array(DomainSchema),
    updatedAt: z.iso.datetime(),
  })
  .openapi('SsoSettings')

const SsoBody = z.strictObject({
  issuer: z.string().min(1).max(512).openapi({ example: 'https://login.example.com' }),
  clientId: z.string().min(1).max(256),
  clientSecret: z.string().min(1).max(1024).optional().openapi({
    format: 'password',
    description: 'required the first time and when the issuer or client id changes',
  }),
  defaultRole: z.string().min(1).max(32).default('viewer'),
  required: z.boolean().default(false),
})

const DomainParam = z.object({ domain: z.string().min(1).max(253) })

/** An organization's single sign-on settings: owners, signed in, only. */
export function ssoRoutes({
  ssoSettings,
  authenticator,
  audit,
}: {
  ssoSettings: SsoSettingsService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/org/sso', requireAuth({ authenticator }))
  router.use('/v1/org/sso/*', requireAuth({ authenticator }))
  const target = (tenantId: string) => ({ type: 'org' as const, id: tenantId })

  const get = createRoute({
    method: 'get',
    path: '/v1/org/sso',
    tags,
    summary: 'Describe the organization’s single sign-on (never its client secret)',
    security: bearer,
    responses: {
      200: { description: 'Settings', content: json(SsoSchema) },
      ...problems(401, 403, 404),
    },
  })
  const put = createRoute({
    method: 'put',
    path: '/v1/org/sso',
    tags,
    summary: 'Configure OpenID Connect single sign-on (owners); the issuer is discovered first',
    security: bearer,
    request: jsonBody(SsoBody),
    responses: {
      200: { description: 'Settings', content: json(SsoSchema) },
      ...problems(400, 401, 403, 413, 415, 422, 502),
    },
  })
  const remove = createRoute({
    method: 'delete',
    path: '/v1/org/sso',
    tags,
    summary: 'Turn single sign-on off (linked identities are kept for a later configuration)',
    security: bearer,
    responses: { 204: { description: 'Removed' }, ...problems(401, 403, 404) },
  })
  const addDomain = createRoute({
    method: 'post',
    path: '/v1/org/sso/domains',
    tags,
    summary: 'List a domain whose people the provider may add; returns the TXT record to publish',
    security: bearer,
    request: jsonBody(z.strictObject({ domain: z.string().min(1).max(253) })),
    responses: {
      201: { description: 'Listed, not yet verified', content: json(DomainSchema) },
      ...problems(400, 401, 403, 404, 409, 413, 415, 422),
    },
  })
  const verifyDomain = createRoute({
    method: 'post',
    path: '/v1/org/sso/domains/{domain}/verify',
    tags,
    summary: 'Check the domain’s TXT record now',
    security: bearer,
    request: { params: DomainParam },
    responses: {
      200: { description: 'Verified', content: json(DomainSchema) },
      ...problems(401, 403, 404, 422),
    },
  })

  return router
    .openapi(get, async (c) => c.json(await ssoSettings.describe(c.get('principal')), 200))
    .openapi(put, async (c) => {
      const body = c.req.valid('json')
      const result = await audited(
        c,
        audit,
        (r: Awaited<ReturnType<SsoSettingsService['configure']>>) => ({
          action: 'sso.update',
          target: target(c.get('principal').tenantId),
          details: {
            issuer: r.issuer,
            clientId: r.clientId,
            required: r.required,
            defaultRole: r.defaultRole,
          },
        }),
        () => ssoSettings.configure(c.get('principal'), body),
        {
          action: 'sso.update',
          target: target(c.get('principal').tenantId),
          details: { issuer: body.issuer.slice(0, 256) },
        },
      )
      return c.json(result, 200)
    })
    .openapi(remove, async (c) => {
      await audited(
        c,
        audit,
        { action: 'sso.delete', target: target(c.get('principal').tenantId) },
        () => ssoSettings.remove(c.get('principal')),
      )
      return c.body(null, 204)
    })
    .openapi(addDomain, async (c) => {
      const { domain } = c.req.valid('json')
      const result = await audited(
        c,
        audit,
        (r: Awaited<ReturnType<SsoSettingsService['addDomain']>>) => ({
          action: 'sso.domain.add',
          target: target(c.get('principal').tenantId),
          details: { domain: r.domain },
        }),
        () => ssoSettings.addDomain(c.get('principal'), domain),
      )
      return c.json(result, 201)
    })
    .openapi(verifyDomain, async (c) => {
      const { domain } = c.req.valid('param')
      const result = await audited(
        c,
        audit,
        {
          action: 'sso.domain.verify',
          target: target(c.get('principal').tenantId),
          details: { domain: domain.slice(0, 253) },
        },
        () => ssoSettings.verifyDomain(c.get('principal'), domain),
      )
      return c.json(result, 200)
    })
}
