import type { AuditRecorder } from '../audit/writer.ts'
import type { MfaService } from './mfa.ts'

/**
 * The operator's reset of a person's second factor (src/cli/reset-mfa.ts), audited in every
 * organization the person belongs to, with the operator as actor. Undefined when no account has
 * the e-mail.
 */
export async function resetSecondFactor(
  deps: { mfa: Pick<MfaService, 'resetByEmail'>; audit: Pick<AuditRecorder, 'record'> },
  email: string,
) {
  const outcome = await deps.mfa.resetByEmail(email)
  if (!outcome) return undefined
  for (const tenantId of outcome.organizations) {
    await deps.audit.record({
      tenantId,
      action: 'auth.mfa.reset',
      actor: { type: 'system', id: 'operator', name: 'npm run reset-mfa' },
      target: { type: 'user', id: outcome.userId, name: outcome.email },
      outcome: { result: 'success' },
      details: { hadSecondFactor: outcome.had },
    })
  }
  return outcome
}
