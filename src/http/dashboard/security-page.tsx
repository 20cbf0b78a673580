import type { Hono } from 'hono'
import type { RegistrationResponseJSON } from '../../auth/passkeys.ts'
import { AppError } from '../../errors.ts'
import { audited } from '../audit.ts'
import { parseInput } from '../router.ts'
import { WebAuthnResponse } from '../routes/mfa-schemas.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf } from './form.ts'
import { SecurityPage } from './pages/security.tsx'
import { frameOf, render } from './render.ts'

/** `/security`: the person's second factors, and adding a passkey (the API's calls as forms). */
export function registerSecurityPage(
  router: Hono<DashboardEnv>,
  { mfa, audit }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/security', session, async (c) => {
    const principal = c.get('principal')
    const state = await mfa.describe(principal.userId ?? '')
    return render(
      c,
      <SecurityPage frame={frameOf(c)} {...state} passkeysAvailable={mfa.passkeysAvailable} />,
    )
  })

  router.post('/security/passkeys/options', session, async (c) =>
    c.json(await mfa.passkeyRegistrationOptions(c.get('principal')), 200, {
      'cache-control': 'no-store',
    }),
  )

  router.post('/security/passkeys', session, async (c) => {
    const form = await formOf(c)
    let response: unknown
    try {
      response = JSON.parse(form.get('response') ?? '')
    } catch {
      throw new AppError('invalid_json', 'The passkey’s answer is not JSON.')
    }
    const parsed = parseInput(WebAuthnResponse, response)
    const name = form.get('name')?.trim().slice(0, 100) || 'Passkey'
    const principal = c.get('principal')
    const added = await audited(
      c,
      audit,
      {
        action: 'auth.mfa.enrol',
        target: { type: 'user', id: principal.userId ?? principal.tokenId },
        details: { method: 'passkey' },
      },
      () => mfa.registerPasskey(principal, parsed as unknown as RegistrationResponseJSON, name),
    )
    return c.json(added, 201, { 'cache-control': 'no-store' })
  })
}
