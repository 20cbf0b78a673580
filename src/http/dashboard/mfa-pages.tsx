import type { Context, Hono } from 'hono'
import type { AuthenticationResponseJSON } from '../../auth/passkeys.ts'
import type { MfaChallenge } from '../../domain/mfa-challenge.ts'
import { AppError, isAppError } from '../../errors.ts'
import { auditSuccess } from '../audit.ts'
import { clientOf } from '../client.ts'
import { parseInput } from '../router.ts'
import { auditFailure } from '../routes/mfa-login.ts'
import { WebAuthnResponse } from '../routes/mfa-schemas.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf } from './form.ts'
import { RecoveryCodesPage, SecondFactorPage } from './pages/second-factor.tsx'
import { render } from './render.ts'

/** A form field left empty is a field not given. */
const given = (value: string | null) => (value?.trim() ? value.trim() : undefined)

/**
 * The page a correct password leads to when a second factor is owed. Where the organization
 * requires one the person lacks, a new authenticator seed is shown on it to set up.
 */
export async function secondStepPage(
  c: Context<DashboardEnv>,
  { mfa }: Pick<DashboardDeps, 'mfa'>,
  challenge: Pick<MfaChallenge, 'challenge' | 'purpose' | 'methods'>,
  error?: { detail: string; status: number },
  shown?: { secret: string; uri: string },
) {
  const enrolment =
    challenge.purpose === 'enrol'
      ? (shown ?? (await mfa.startTotpForChallenge(challenge.challenge)))
      : undefined
  return render(
    c,
    <SecondFactorPage
      nonce={c.get('nonce')}
      challenge={challenge.challenge}
      purpose={challenge.purpose}
      passkey={challenge.methods.includes('passkey')}
      {...(enrolment ? { enrolment } : {})}
      {...(error ? { error: error.detail } : {})}
    />,
    (error?.status ?? 200) as 200,
  )
}

/** A passkey's answer, as the page's script put it in the form; checked in depth later. */
function passkeyOf(text: string | null): AuthenticationResponseJSON | undefined {
  if (!text) return undefined
  try {
    return parseInput(WebAuthnResponse, JSON.parse(text)) as unknown as AuthenticationResponseJSON
  } catch {
    throw new AppError('mfa_code_invalid', 'The passkey’s answer could not be read.')
  }
}

/**
 * The factor of a step-up form: the code field takes an app's six digits or a recovery code;
 * a passkey's answer comes with the challenge of the password check it followed.
 */
export function stepUpFactor(form: URLSearchParams) {
  const typed = given(form.get('code'))
  const challenge = given(form.get('challenge'))
  const passkey = passkeyOf(form.get('passkey'))
  if (challenge && passkey) return { challenge, passkey }
  if (typed === undefined) return {}
  return /^\d{6}$/.test(typed.replace(/\s+/g, '')) ? { code: typed } : { recoveryCode: typed }
}

/** The second step of signing in to the dashboard: the API's POST /v1/auth/mfa, as a form. */
export function registerMfaPages(
  router: Hono<DashboardEnv>,
  deps: DashboardDeps,
  { cookie, open, session }: PageKit,
) {
  // Step-up by passkey, first half: the password, then the options its challenge answers.
  router.post('/step-up/passkey', session, async (c) => {
    const form = await formOf(c)
    const mfa = await deps.accounts.beginStepUp(c.get('principal'), {
      password: form.get('password') ?? '',
      address: clientOf(c).address,
    })
    const options = await deps.mfa.passkeyOptionsForChallenge(mfa.challenge)
    return c.json({ challenge: mfa.challenge, options }, 200, { 'cache-control': 'no-store' })
  })

  // Request options for the passkey button; the login's challenge carries them from here on.
  router.post('/login/mfa/passkey', open, async (c) => {
    const form = await formOf(c)
    const options = await deps.mfa.passkeyOptionsForChallenge(form.get('challenge') ?? '')
    return c.json(options, 200, { 'cache-control': 'no-store' })
  })

  router.post('/login/mfa', open, async (c) => {
    const form = await formOf(c)
    const challenge = form.get('challenge') ?? ''
    const purpose = form.get('purpose') === 'enrol' ? 'enrol' : 'verify'
    const secret = form.get('secret')
    const uri = form.get('uri')
    const shown = purpose === 'enrol' && secret && uri ? { secret, uri } : undefined
    try {
      const result = await deps.accounts.completeMfa(
        {
          challenge,
          code: given(form.get('code')),
          recoveryCode: given(form.get('recoveryCode')),
          passkey: passkeyOf(form.get('passkey')),
          address: clientOf(c).address,
        },
        { failed: (who, error) => auditFailure(c, deps.audit, who, error) },
      )
      const actor = { type: 'user', id: result.userId, name: result.email } as const
      const target = { type: 'user', id: result.userId, name: result.email } as const
      if (result.recoveryCodes) {
        await auditSuccess(c, deps.audit, {
          action: 'auth.mfa.enrol',
          tenantId: result.tenantId,
          actor,
          target,
          details: { method: 'totp', duringLogin: true },
        })
      }
      await auditSuccess(c, deps.audit, {
        action: 'auth.login',
        tenantId: result.tenantId,
        actor,
        target,
        details: { secondFactor: result.method },
      })
      cookie.write(c, result.session.token, result.session.expiresAt)
      if (result.recoveryCodes) {
        return render(c, <RecoveryCodesPage nonce={c.get('nonce')} codes={result.recoveryCodes} />)
      }
      return c.redirect('/', 303)
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error
      if (error.code === 'mfa_challenge_invalid') return c.redirect('/login', 303)
      if (error.headers['retry-after']) c.header('retry-after', error.headers['retry-after'])
      const methods = form.get('passkeyOffered') === '1' ? (['passkey'] as const) : []
      return secondStepPage(c, deps, { challenge, purpose, methods: [...methods] }, error, shown)
    }
  })
}
