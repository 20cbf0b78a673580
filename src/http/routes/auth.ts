import { createRoute, z } from '@hono/zod-openapi'
import { outcomeOf } from '../../audit/events.ts'
import type { Authenticator } from '../../auth/authenticate.ts'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../auth/passwords.ts'
import { roleSchema } from '../../auth/roles.ts'
import type { AccountService } from '../../domain/accounts.ts'
import type { SignupConfirmation } from '../../domain/signup-confirmation.ts'
import { auditSuccess, type RequestAudit } from '../audit.ts'
import { clientOf } from '../client.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { problems } from '../schemas.ts'
import { MfaChallengeSchema } from './mfa-schemas.ts'

// The pipe hides its output schema from the document: the format and pattern are stated here.
const Email = z.string().trim().pipe(z.email().max(254)).openapi({
  format: 'email',
  pattern: z.regexes.email.source,
  maxLength: 254,
  example: 'ada@example.com',
})
/** Any length at login, so that a policy change never locks anyone out before the check. */
const Password = z.string().min(1).max(1024).openapi({ format: 'password' })
const NewPassword = z
  .string()
  .min(PASSWORD_MIN_LENGTH)
  .max(PASSWORD_MAX_LENGTH * 2)
  .openapi({
    format: 'password',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
  })

const SessionSchema = z
  .object({ token: z.string(), expiresAt: z.iso.datetime() })
  .openapi('Session')

const SignupBody = z.strictObject({
  email: Email,
  password: NewPassword,
  organization: z.string().trim().min(1).max(100).optional(),
})

const SignupResult = z
  .object({
    user: z.object({ id: z.string(), email: z.string() }),
    organization: z.object({ id: z.string(), name: z.string() }),
    session: SessionSchema,
  })
  .openapi('SignupResult')

const ConfirmationSent = z
  .object({ confirmation: z.literal('sent'), email: z.string() })
  .openapi('ConfirmationSent')

const LoginBody = z.strictObject({
  email: Email,
  password: Password,
  organization: z.string().max(64).optional().openapi({
    description: 'The organization to open (default: the oldest the person belongs to)',
  }),
})

const noStore = { 'cache-control': 'no-store' }

const signup = createRoute({
  method: 'post',
  path: '/v1/auth/signup',
  tags: ['auth'],
  summary: 'Create a user and an organization (tenant), and log in',
  request: { body: { required: true, content: { 'application/json': { schema: SignupBody } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: SignupResult } } },
    202: {
      description:
        'With SMTP configured: a confirmation link was mailed (the same answer whether or not the address has an account)',
      content: { 'application/json': { schema: ConfirmationSent } },
    },
    ...problems(400, 403, 409, 413, 415, 422, 429),
  },
})

const confirm = createRoute({
  method: 'post',
  path: '/v1/auth/confirm',
  tags: ['auth'],
  summary: 'Confirm a sign-up with the secret of its mailed link: creates the account',
  request: {
    body: {
      required: true,
      content: {
        'application/json': { schema: z.strictObject({ code: z.string().min(1).max(200) }) },
      },
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: SignupResult } } },
    ...problems(400, 404, 413, 415, 422),
  },
})

const login = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags: ['auth'],
  summary: 'Log in with e-mail and password',
  description:
    'A person with a second factor (or whose organization requires one) gets no session yet: the answer carries `mfa`, a challenge to complete with POST /v1/auth/mfa.',
  request: { body: { required: true, content: { 'application/json': { schema: LoginBody } } } },
  responses: {
    200: {
      description: 'Logged in, or a second factor is owed',
      content: {
        'application/json': {
          schema: z.union([
            z.object({ session: SessionSchema }),
            z.object({ mfa: MfaChallengeSchema }),
          ]),
        },
      },
    },
    ...problems(400, 401, 413, 415, 422, 429),
  },
})

const logout = createRoute({
  method: 'post',
  path: '/v1/auth/logout',
  tags: ['auth'],
  summary: 'Revoke the calling session',
  security: [{ bearer: [] }],
  responses: { 204: { description: 'Logged out' }, ...problems(400, 401) },
})

const organizations = createRoute({
  method: 'get',
  path: '/v1/auth/organizations',
  tags: ['auth'],
  summary: 'The organizations the signed-in person belongs to, with their role in each',
  security: [{ bearer: [] }],
  responses: {
    200: {
      description: 'Their organizations',
      content: {
        'application/json': {
          schema: z.object({
            items: z.array(
              z.object({
                id: z.string(),
                name: z.string(),
                role: roleSchema,
                current: z.boolean().openapi({ description: 'The calling session’s organization' }),
              }),
            ),
          }),
        },
      },
    },
    ...problems(401, 403),
  },
})

const switchOrganization = createRoute({
  method: 'post',
  path: '/v1/auth/switch',
  tags: ['auth'],
  summary: 'A new session in another organization the person belongs to',
  security: [{ bearer: [] }],
  request: {
    body: {
      required: true,
      content: {
        'application/json': { schema: z.strictObject({ organization: z.string().max(64) }) },
      },
    },
  },
  responses: {
    200: {
      description: 'The new session (the calling one stays valid)',
      content: { 'application/json': { schema: z.object({ session: SessionSchema }) } },
    },
    ...problems(400, 401, 403, 404, 413, 415, 422),
  },
})

export function authRoutes({
  accounts,
  signupConfirmation,
  authenticator,
  audit,
}: {
  accounts: AccountService
  signupConfirmation: SignupConfirmation
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const router = createRouter()
  router.use('/v1/auth/logout', requireAuth({ authenticator }))
  router.use('/v1/auth/organizations', requireAuth({ authenticator }))
  router.use('/v1/auth/switch', requireAuth({ authenticator }))
  return router
    .openapi(signup, async (c) => {
      const input = { ...c.req.valid('json'), address: clientOf(c).address }
      if (signupConfirmation.enabled) {
        const { email } = await signupConfirmation.request(input)
        return c.json({ confirmation: 'sent' as const, email }, 202, noStore)
      }
      const result = await accounts.signup(input)
      const { sessionId: _, ...body } = result
      await auditSuccess(c, audit, {
        action: 'auth.signup',
        tenantId: result.organization.id,
        actor: { type: 'user', id: result.user.id, name: result.user.email },
        target: { type: 'org', id: result.organization.id, name: result.organization.name },
      })
      return c.json(body, 201, noStore)
    })
    .openapi(confirm, async (c) => {
      const result = await signupConfirmation.confirm(c.req.valid('json').code)
      const { sessionId: _, ...body } = result
      await auditSuccess(c, audit, {
        action: 'auth.signup',
        tenantId: result.organization.id,
        actor: { type: 'user', id: result.user.id, name: result.user.email },
        target: { type: 'org', id: result.organization.id, name: result.organization.name },
        details: { emailConfirmed: true },
      })
      return c.json(body, 201, noStore)
    })
    .openapi(login, async (c) => {
      const { address } = clientOf(c)
      const input = c.req.valid('json')
      const result = await accounts.login(
        { ...input, address },
        {
          // A failure is filed under the account's organization when the e-mail exists; an
          // unknown e-mail belongs to no tenant and goes to the log only.
          failed: (user, error) =>
            audit.record({
              tenantId: user?.tenantId ?? null,
              action: 'auth.login',
              actor: user
                ? { type: 'user', id: user.userId, name: user.email }
                : { type: 'anonymous', id: null },
              outcome: outcomeOf(error),
              requestId: c.get('requestId'),
              traceId: c.get('trace')?.traceId ?? null,
              client: clientOf(c),
            }),
        },
      )
      // The password was right but the login is not done: audited when the factor is given.
      if ('mfa' in result) return c.json({ mfa: result.mfa }, 200, noStore)
      await auditSuccess(c, audit, {
        action: 'auth.login',
        tenantId: result.tenantId,
        actor: { type: 'user', id: result.userId, name: result.email },
        target: { type: 'user', id: result.userId, name: result.email },
      })
      return c.json({ session: result.session }, 200, noStore)
    })
    .openapi(logout, async (c) => {
      await accounts.logout(c.get('principal'))
      await auditSuccess(c, audit, {
        action: 'auth.logout',
        target: { type: 'token', id: c.get('principal').tokenId },
      })
      return c.body(null, 204)
    })
    .openapi(organizations, async (c) =>
      c.json({ items: await accounts.organizations(c.get('principal')) }, 200),
    )
    .openapi(switchOrganization, async (c) => {
      const { organization } = c.req.valid('json')
      const result = await accounts.switchOrganization(c.get('principal'), organization)
      await auditSuccess(c, audit, {
        action: 'auth.switch',
        tenantId: result.tenantId,
        target: { type: 'org', id: result.tenantId },
        details: { from: c.get('principal').tenantId },
      })
      return c.json({ session: result.session }, 200, noStore)
    })
}
