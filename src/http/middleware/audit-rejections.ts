import { createMiddleware } from 'hono/factory'
import { type AuditActor, actorOf } from '../../audit/events.ts'
import type { TokenIdentifier } from '../../audit/token-identity.ts'
import type { Principal } from '../../auth/principal.ts'
import { isAppError } from '../../errors.ts'
import type { RequestAudit } from '../audit.ts'
import { clientOf } from '../client.ts'
import type { AppEnv } from '../env.ts'

const BEARER = /^Bearer +(\S+)$/i
/** 401/403 answers that are about a password or a server setting, not about a token's use. */
const NOT_TOKEN_USES = new Set(['invalid_credentials', 'signup_disabled'])

export interface AuditRejectionsOptions {
  audit: RequestAudit
  identify: TokenIdentifier
}

/**
 * Records every rejected use of a token (a 401 or 403 answered to a request that carried one)
 * as `token.rejected`, filed under the token's tenant: from the principal when the token was
 * authenticated (a missing scope, a key it may not use), else from the token itself once its
 * signature verifies (expired, revoked, unknown, deleted organization). A token whose
 * signature does not verify names no tenant we can trust: that rejection goes to the log
 * only. A request without any credential is not a token use and is not recorded (the access
 * log has it).
 *
 * The answer is already decided when this runs: in strict mode it waits for the event, but an
 * audit failure is logged rather than turned into a 503 (the request was refused anyway).
 */
export function auditRejections({ audit, identify }: AuditRejectionsOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await next()
    const status = c.res.status
    // With the audit trail off there is nothing to record, and no token to identify for it.
    if ((status !== 401 && status !== 403) || audit.mode === 'off') return
    const code = isAppError(c.error) ? c.error.code : `http_${status}`
    if (NOT_TOKEN_USES.has(code)) return
    const principal = c.var.principal as Principal | undefined
    const token = BEARER.exec(c.req.header('authorization')?.trim() ?? '')?.[1]
    if (!principal && !token) return

    let tenantId: string | undefined
    let actor: AuditActor
    if (principal) {
      tenantId = principal.tenantId
      actor = actorOf(principal)
    } else {
      const identity = token ? await identify(token) : undefined
      tenantId = identity?.tenantId
      actor = { type: 'token', id: identity?.tokenId ?? null }
    }
    const { address, userAgent } = clientOf(c)
    try {
      await audit.record({
        tenantId: tenantId ?? null,
        action: 'token.rejected',
        actor,
        outcome: { result: 'denied', code },
        requestId: c.var.requestId,
        traceId: c.var.trace?.traceId ?? null,
        client: { address, userAgent },
        details: { method: c.req.method, path: c.req.path, status },
      })
    } catch (error) {
      c.var.log?.error({ code: isAppError(error) ? error.code : 'internal' }, 'audit write failed')
    }
  })
}
