import { createRoute, z } from '@hono/zod-openapi'
import type { SsoLogin } from '../../domain/sso-login.ts'
import { createRouter } from '../router.ts'
import { json, jsonBody, problems } from '../schemas.ts'
import type { SsoCookie } from '../sso-cookie.ts'

const tags = ['auth']
const noStore = { 'cache-control': 'no-store' }

/**
 * Single sign-on for programs that keep cookies (a browser application, a test): start
 * answers the provider's URL as JSON; the provider sends the browser back to the dashboard's
 * callback (`/auth/sso/callback`); finish then hands the session over as JSON. The dashboard
 * runs the same steps with pages (dashboard/sso-pages.tsx).
 */
export function ssoLoginRoutes({
  ssoLogin,
  ssoCookie,
}: {
  ssoLogin: SsoLogin
  ssoCookie: SsoCookie
}) {
  const router = createRouter()

  const start = createRoute({
    method: 'post',
    path: '/v1/auth/sso/start',
    tags,
    summary: 'Start signing in through the organization’s identity provider',
    description:
      'Sets a short-lived SameSite=Lax pre-login cookie bound to the sign-in’s state; open authorizationUrl in the same browser.',
    request: jsonBody(z.strictObject({ organization: z.string().min(1).max(64) })),
    responses: {
      200: {
        description: 'Where to send the browser',
        content: json(z.object({ authorizationUrl: z.url(), expiresAt: z.iso.datetime() })),
      },
      ...problems(400, 404, 413, 415, 422, 502),
    },
  })
  const finish = createRoute({
    method: 'post',
    path: '/v1/auth/sso/finish',
    tags,
    summary: 'Exchange a verified sign-in (its pre-login cookie) for a session',
    responses: {
      200: {
        description: 'Signed in',
        content: json(
          z.object({ session: z.object({ token: z.string(), expiresAt: z.iso.datetime() }) }),
        ),
      },
      ...problems(400, 403),
    },
  })

  return router
    .openapi(start, async (c) => {
      const { organization } = c.req.valid('json')
      const result = await ssoLogin.start({ tenantId: organization, mode: 'json' })
      ssoCookie.write(c, result.cookie)
      return c.json(
        { authorizationUrl: result.authorizationUrl, expiresAt: result.expiresAt },
        200,
        noStore,
      )
    })
    .openapi(finish, async (c) => {
      const result = await ssoLogin.finish(ssoCookie.read(c))
      ssoCookie.clear(c)
      return c.json({ session: result.session }, 200, noStore)
    })
}
