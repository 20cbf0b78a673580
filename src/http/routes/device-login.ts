import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { DeviceLogin } from '../../domain/device-login.ts'
import type { RequestAudit } from '../audit.ts'
import { clientOf } from '../client.ts'
import { auditDeviceDecision } from '../device-audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, jsonBody, problems } from '../schemas.ts'

const tags = ['auth']
const noStore = { 'cache-control': 'no-store' }
/** Where the person types the code: the dashboard, on the public URL. */
export const DEVICE_PAGE = '/device'

const DeviceSchema = z
  .object({
    userCode: z.string(),
    clientAddress: z.string().nullable(),
    clientHost: z.string().nullable().openapi({ description: 'as the client described itself' }),
    userAgent: z.string().nullable(),
    requestedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  })
  .openapi('DeviceLogin')

const UserCode = z.strictObject({ userCode: z.string().min(1).max(32) })

/** RFC 8628-style device login for the CLI (domain/device-login.ts). */
export function deviceLoginRoutes({
  deviceLogin,
  authenticator,
  audit,
  publicUrl,
}: {
  deviceLogin: DeviceLogin
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
  publicUrl: string | undefined
}) {
  const router = createRouter()
  router.use('/v1/auth/device/lookup', requireAuth({ authenticator }))
  router.use('/v1/auth/device/approve', requireAuth({ authenticator }))
  router.use('/v1/auth/device/deny', requireAuth({ authenticator }))

  const code = createRoute({
    method: 'post',
    path: '/v1/auth/device/code',
    tags,
    summary: 'Ask for a device code and the user code a person approves in the dashboard',
    request: jsonBody(
      z.strictObject({
        clientHost: z
          .string()
          .max(253)
          .optional()
          .openapi({ description: 'the device’s host name, shown to the approver' }),
      }),
    ),
    responses: {
      200: {
        description: 'Show user_code and verification_uri; poll /v1/auth/device/token',
        content: json(
          z.object({
            device_code: z.string(),
            user_code: z.string(),
            verification_uri: z.string(),
            expires_in: z.number().int(),
            interval: z.number().int(),
          }),
        ),
      },
      ...problems(400, 413, 415, 422),
    },
  })
  const token = createRoute({
    method: 'post',
    path: '/v1/auth/device/token',
    tags,
    summary:
      'Poll for the session (authorization_pending, slow_down, expired_token, access_denied)',
    request: jsonBody(z.strictObject({ device_code: z.string().min(1).max(128) })),
    responses: {
      200: {
        description: 'Approved: the device’s session',
        content: json(
          z.object({ session: z.object({ token: z.string(), expiresAt: z.iso.datetime() }) }),
        ),
      },
      ...problems(400, 413, 415, 422),
    },
  })
  const lookup = createRoute({
    method: 'post',
    path: '/v1/auth/device/lookup',
    tags,
    summary: 'Describe the device waiting with a user code (sessions only)',
    security: bearer,
    request: jsonBody(UserCode),
    responses: {
      200: { description: 'The waiting device', content: json(DeviceSchema) },
      ...problems(400, 401, 403, 404, 413, 415, 422),
    },
  })
  const decision = (verb: 'approve' | 'deny') =>
    createRoute({
      method: 'post',
      path: `/v1/auth/device/${verb}`,
      tags,
      summary:
        verb === 'approve'
          ? 'Approve a device: it gets a session of yours, no longer than this one'
          : 'Deny a device',
      security: bearer,
      request: jsonBody(UserCode),
      responses: {
        200: { description: 'Decided', content: json(DeviceSchema) },
        ...problems(400, 401, 403, 404, 413, 415, 422),
      },
    })

  // Without a public URL (production with KEYSTASH_PUBLIC_URL unset) the page's path alone:
  // better than guessing a host from the request.
  const verificationUri = publicUrl ? new URL(DEVICE_PAGE, publicUrl).toString() : DEVICE_PAGE

  return router
    .openapi(code, async (c) => {
      const { address, userAgent } = clientOf(c)
      const { clientHost } = c.req.valid('json')
      const result = await deviceLogin.request({
        address: address ?? null,
        userAgent: userAgent?.slice(0, 256) ?? null,
        host: clientHost?.trim() || null,
      })
      return c.json(
        {
          device_code: result.deviceCode,
          user_code: result.userCode,
          verification_uri: verificationUri,
          expires_in: result.expiresIn,
          interval: result.interval,
        },
        200,
        noStore,
      )
    })
    .openapi(token, async (c) => {
      const result = await deviceLogin.poll(c.req.valid('json').device_code)
      return c.json({ session: result.session }, 200, noStore)
    })
    .openapi(lookup, async (c) =>
      c.json(
        await deviceLogin.lookup(c.get('principal'), c.req.valid('json').userCode),
        200,
        noStore,
      ),
    )
    .openapi(decision('approve'), async (c) => {
      const { userCode } = c.req.valid('json')
      const device = await deviceLogin.decide(c.get('principal'), userCode, true)
      await auditDeviceDecision(c, audit, true, device)
      return c.json(device, 200, noStore)
    })
    .openapi(decision('deny'), async (c) => {
      const { userCode } = c.req.valid('json')
      const device = await deviceLogin.decide(c.get('principal'), userCode, false)
      await auditDeviceDecision(c, audit, false, device)
      return c.json(device, 200, noStore)
    })
}
