import { type Context, Hono } from 'hono'
import { every } from 'hono/combine'
import { loggableError } from '../log-error.ts'
import { asAppError, problemResponse } from '../problem.ts'
import { ssoCookie } from '../sso-cookie.ts'
import { registerAssets } from './assets.ts'
import { registerAuditPages } from './audit-pages.tsx'
import { registerAuthPages } from './auth-pages.tsx'
import type { DashboardDeps, PageKit } from './deps.ts'
import { registerDevicePages } from './device-pages.tsx'
import { registerEncryptionPages } from './encryption-pages.tsx'
import type { DashboardEnv } from './env.ts'
import { registerEnvironmentPages } from './environment-pages.tsx'
import { wantsJson } from './form.ts'
import { pageHeaders, sameOrigin, securityHeaders, signedIn } from './guard.ts'
import { registerKeyPages } from './key-pages.tsx'
import { registerMemberPages } from './member-pages.tsx'
import { registerMfaPages } from './mfa-pages.tsx'
import { registerOverviewPage } from './overview-page.tsx'
import { ErrorPage } from './pages/error.tsx'
import { render } from './render.ts'
import { registerSecurityPage } from './security-page.tsx'
import { sessionCookie } from './session-cookie.ts'
import { registerSsoPages } from './sso-pages.tsx'
import { registerTokenPages } from './token-pages.tsx'
import { registerUsagePage } from './usage-page.tsx'

export { isDashboardPath } from './paths.ts'

/**
 * The dashboard: server-rendered pages at `/` of the API server, calling the same domain
 * services as the API, with a cookie session instead of a bearer token. Each route lists its
 * middleware, so none of it runs for the API's paths.
 */
export function dashboardRoutes(deps: DashboardDeps) {
  const router = new Hono<DashboardEnv>()
  const cookie = sessionCookie({ publicUrl: deps.config.publicUrl })
  const open = every(pageHeaders(), sameOrigin({ publicUrl: deps.config.publicUrl }))
  const kit: PageKit = {
    cookie,
    open,
    session: every(open, signedIn({ authenticator: deps.authenticator, cookie })),
  }
  registerAssets(router, pageHeaders())
  registerAuthPages(router, deps, kit)
  registerSsoPages(router, deps, kit, {
    ssoLogin: deps.ssoLogin,
    ssoCookie: ssoCookie(deps.config),
  })
  registerDevicePages(router, deps, kit, { deviceLogin: deps.deviceLogin })
  registerMfaPages(router, deps, kit)
  registerSecurityPage(router, deps, kit)
  registerOverviewPage(router, deps, kit)
  registerKeyPages(router, deps, kit)
  registerTokenPages(router, deps, kit)
  registerMemberPages(router, deps, kit)
  registerUsagePage(router, deps, kit)
  registerEnvironmentPages(router, deps, kit)
  registerEncryptionPages(router, deps, kit)
  registerAuditPages(router, deps, kit)

  router.onError(async (error, c) => {
    const response = await errorResponse(error, c)
    // A failure before or inside `pageHeaders` still leaves with the page headers.
    const nonce = c.get('nonce') ?? ''
    for (const [name, value] of Object.entries(securityHeaders(nonce))) {
      response.headers.set(name, value)
    }
    return response
  })
  return router
}

async function errorResponse(error: unknown, c: Context<DashboardEnv>): Promise<Response> {
  {
    const appError = asAppError(error)
    if (appError.code === 'internal') {
      c.get('log')?.error({ error: loggableError(error) }, 'unhandled error')
    }
    if (wantsJson(c)) return problemResponse(c, appError)
    // An ended or missing session sends the person to sign in, not to an error.
    if (appError.status === 401 && c.req.method === 'GET') return c.redirect('/login', 303)
    for (const [name, value] of Object.entries(appError.headers)) c.header(name, value)
    const csrf = c.get('csrf')
    return render(
      c,
      <ErrorPage
        error={appError}
        requestId={c.get('requestId') ?? 'unknown'}
        nonce={c.get('nonce') ?? ''}
        back={backFrom(c.req.method, c.req.path)}
        organizationId={c.get('organization')?.tenantId}
        {...(csrf ? { csrf } : {})}
      />,
      appError.status as 400,
    )
  }
}

/** The page a failed form came from. */
function backFrom(method: string, path: string): string {
  if (method === 'GET') return '/'
  if (path.startsWith('/tokens')) return '/tokens'
  const key = /^\/keys\/([^/]+)\//.exec(path)
  if (key?.[1]) return `/keys/${key[1]}`
  return path === '/logout' || path === '/step-up' ? '/' : path
}
