import type { Hono } from 'hono'
import type { SsoLogin, SsoOutcome } from '../../domain/sso-login.ts'
import { AppError, isAppError } from '../../errors.ts'
import { auditSsoCallback } from '../sso-audit.ts'
import type { SsoCookie } from '../sso-cookie.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { wantsJson } from './form.ts'
import { SsoContinuePage, SsoPage } from './pages/sso.tsx'
import { render } from './render.ts'

const ORGANIZATION = /^org_[0-9a-z]{26}$/

/**
 * Single sign-on in the browser. The provider's URL is reached by a link (`/sso/start`), not a
 * form: the page's `form-action 'self'` would stop a form's redirect to another origin.
 */
export function registerSsoPages(
  router: Hono<DashboardEnv>,
  { audit }: Pick<DashboardDeps, 'audit'>,
  { cookie, open }: PageKit,
  { ssoLogin, ssoCookie }: { ssoLogin: SsoLogin; ssoCookie: SsoCookie },
) {
  router.get('/sso', open, (c) => {
    const organization = c.req.query('organization')?.trim() || undefined
    const error =
      organization && !ORGANIZATION.test(organization)
        ? 'An organization ID looks like org_ followed by 26 letters and digits.'
        : undefined
    return render(c, <SsoPage nonce={c.get('nonce')} organization={organization} error={error} />)
  })

  router.get('/sso/start', open, async (c) => {
    const organization = c.req.query('organization') ?? ''
    if (!ORGANIZATION.test(organization)) {
      throw new AppError('sso_not_configured', 'This organization has no single sign-on.')
    }
    const result = await ssoLogin.start({
      tenantId: organization,
      mode: 'redirect',
      reauth: c.req.query('reauth') === '1',
    })
    ssoCookie.write(c, result.cookie)
    return c.redirect(result.authorizationUrl, 302)
  })

  router.get('/auth/sso/callback', open, async (c) => {
    const secret = ssoCookie.read(c)
    let result: SsoOutcome
    try {
      result = await ssoLogin.callback(secret, new URL(c.req.url).search)
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error
      await auditSsoCallback(c, audit, ssoLogin, secret, { error })
      ssoCookie.clear(c)
      if (wantsJson(c)) throw error
      // Not the dashboard's usual "sign in again" redirect for a 401: say what went wrong.
      return render(c, <SsoPage nonce={c.get('nonce')} error={error.detail} />, error.status as 401)
    }
    await auditSsoCallback(c, audit, ssoLogin, secret, { result })
    return render(
      c,
      <SsoContinuePage nonce={c.get('nonce')} email={result.email} mode={result.mode} />,
    )
  })

  router.post('/auth/sso/finish', open, async (c) => {
    const result = await ssoLogin.finish(ssoCookie.read(c))
    ssoCookie.clear(c)
    cookie.write(c, result.session.token, result.session.expiresAt)
    return c.redirect('/', 303)
  })
}
