import type { Context } from 'hono'
import { outcomeOf, SUCCESS } from '../audit/events.ts'
import type { SsoLogin, SsoOutcome } from '../domain/sso-login.ts'
import type { RequestAudit } from './audit.ts'
import { clientOf } from './client.ts'

/**
 * The audit events of a single sign-on's callback, for the API and the dashboard alike: the
 * person it signed in (and `auth.sso.provision` when it made them a member), or the refusal,
 * filed under the organization the sign-in was started for.
 */
export async function auditSsoCallback(
  c: Context,
  audit: RequestAudit,
  login: Pick<SsoLogin, 'tenantOf'>,
  secret: string | undefined,
  outcome: { result: SsoOutcome } | { error: unknown },
): Promise<void> {
  if (audit.mode === 'off') return
  const base = {
    requestId: c.get('requestId') ?? null,
    traceId: c.get('trace')?.traceId ?? null,
    client: clientOf(c),
  }
  if ('error' in outcome) {
    const tenantId = await login.tenantOf(secret).catch(() => undefined)
    await audit.record({
      ...base,
      tenantId: tenantId ?? null,
      action: 'auth.sso.login',
      actor: { type: 'anonymous', id: null },
      outcome: outcomeOf(outcome.error),
    })
    return
  }
  const { result } = outcome
  const actor = { type: 'user' as const, id: result.userId, name: result.email }
  const target = { type: 'user' as const, id: result.userId, name: result.email }
  if (result.provisioned) {
    await audit.record({
      ...base,
      tenantId: result.tenantId,
      action: 'auth.sso.provision',
      actor,
      target,
      outcome: SUCCESS,
      details: { issuer: result.issuer },
    })
  }
  await audit.record({
    ...base,
    tenantId: result.tenantId,
    action: 'auth.sso.login',
    actor,
    target,
    outcome: SUCCESS,
    details: { issuer: result.issuer },
  })
}
