import type { Hono } from 'hono'
import { z } from 'zod'
import { outcomeOf } from '../../audit/events.ts'
import { type AppError, isAppError } from '../../errors.ts'
import { auditSuccess } from '../audit.ts'
import { clientOf } from '../client.ts'
import { parseInput } from '../router.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf, wantsJson } from './form.ts'
import { secondStepPage, stepUpFactor } from './mfa-pages.tsx'
import { SignInPage } from './pages/sign-in.tsx'
import { render } from './render.ts'
import { csrfTokenFor } from './session-cookie.ts'
import { localPath } from './step-up.ts'

// The API's rules for the same fields (routes/auth.ts).
const Credentials = z.object({
  email: z.string().trim().pipe(z.email().max(254)),
  password: z.string().min(1).max(1024),
  organization: z.string().trim().min(1).max(100).optional(),
})

/** Sign-up, sign-in, sign-out and step-up: the only pages that set or clear the cookie. */
export function registerAuthPages(
  router: Hono<DashboardEnv>,
  deps: DashboardDeps,
  { cookie, open, session }: PageKit,
) {
  const { accounts, signupConfirmation, audit, config } = deps
  const signupOpen = config.auth.signup
  const page = (c: Parameters<typeof render>[0], mode: 'login' | 'signup', extra = {}) =>
    render(c, <SignInPage nonce={c.get('nonce')} mode={mode} signupOpen={signupOpen} {...extra} />)

  router.get('/login', open, (c) => page(c, 'login'))
  router.get('/signup', open, (c) => page(c, 'signup'))

  router.post('/signup', open, async (c) => {
    const form = await formOf(c)
    const email = form.get('email') ?? ''
    try {
      const input = parseInput(Credentials, {
        email,
        password: form.get('password') ?? '',
        organization: form.get('organization')?.trim() || undefined,
      })
      if (signupConfirmation.enabled) {
        // The same page whether or not the address has an account: the mail tells them apart.
        await signupConfirmation.request({ ...input, address: clientOf(c).address })
        return page(c, 'login', {
          email,
          notice: `We mailed a link to ${input.email}: open it within 24 hours to finish.`,
        })
      }
      const result = await accounts.signup(input)
      await auditSuccess(c, audit, {
        action: 'auth.signup',
        tenantId: result.organization.id,
        actor: { type: 'user', id: result.user.id, name: result.user.email },
        target: { type: 'org', id: result.organization.id, name: result.organization.name },
      })
      cookie.write(c, result.session.token, result.session.expiresAt)
      return c.redirect('/', 303)
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error
      return render(
        c,
        <SignInPage
          nonce={c.get('nonce')}
          mode="signup"
          signupOpen={signupOpen}
          error={error.detail}
          email={email}
        />,
        error.status as 400,
      )
    }
  })

  router.post('/login', open, async (c) => {
    const form = await formOf(c)
    const email = form.get('email') ?? ''
    try {
      const input = parseInput(Credentials, { email, password: form.get('password') ?? '' })
      const result = await accounts.login(
        { ...input, address: clientOf(c).address },
        { failed: (user, error) => auditLoginFailure(c, user, error) },
      )
      if ('mfa' in result) return secondStepPage(c, deps, result.mfa)
      await auditSuccess(c, audit, {
        action: 'auth.login',
        tenantId: result.tenantId,
        actor: { type: 'user', id: result.userId, name: result.email },
        target: { type: 'user', id: result.userId, name: result.email },
      })
      cookie.write(c, result.session.token, result.session.expiresAt)
      return c.redirect('/', 303)
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error
      if (error.headers['retry-after']) c.header('retry-after', error.headers['retry-after'])
      return render(
        c,
        <SignInPage
          nonce={c.get('nonce')}
          mode="login"
          signupOpen={signupOpen}
          error={error.detail}
          email={email}
        />,
        error.status as 401,
      )
    }
  })

  router.post('/logout', session, async (c) => {
    await accounts.logout(c.get('principal'))
    await auditSuccess(c, audit, {
      action: 'auth.logout',
      target: { type: 'token', id: c.get('principal').tokenId },
    })
    cookie.clear(c)
    return c.redirect('/login', 303)
  })

  // The password (and the second factor, if any) again, for actions that need a recent check: a new session replaces this one.
  router.post('/step-up', session, async (c) => {
    const form = await formOf(c)
    const principal = c.get('principal')
    const result = await accounts.reauthenticate(principal, {
      password: form.get('password') ?? '',
      ...stepUpFactor(form),
      address: clientOf(c).address,
    })
    await auditSuccess(c, audit, {
      action: 'auth.login',
      actor: { type: 'user', id: result.userId, name: result.email },
      target: { type: 'user', id: result.userId, name: result.email },
      details: { stepUp: true },
    })
    cookie.write(c, result.session.token, result.session.expiresAt)
    if (wantsJson(c)) return c.json({ csrf: csrfTokenFor(result.session.token) })
    return c.redirect(localPath(form.get('next')), 303)
  })

  function auditLoginFailure(
    c: Parameters<typeof render>[0],
    user: { userId: string; tenantId: string | undefined; email: string } | undefined,
    error: AppError,
  ) {
    return audit.record({
      tenantId: user?.tenantId ?? null,
      action: 'auth.login',
      actor: user
        ? { type: 'user', id: user.userId, name: user.email }
        : { type: 'anonymous', id: null },
      outcome: outcomeOf(error),
      requestId: c.get('requestId'),
      client: clientOf(c),
    })
  }
}
