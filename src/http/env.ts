import type { Principal } from '../auth/principal.ts'
import type { Logger } from '../logger.ts'
import type { AddressMatcher } from '../net/cidr.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'
import type { TraceContext } from './trace-context.ts'

export type RequestLogger = Pick<Logger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>

/** What middleware puts on the Hono context for the handlers that follow. */
export interface AppEnv {
  Variables: {
    requestId: string
    /** The request's W3C trace (its `traceparent`, or a new trace). */
    trace: TraceContext
    /** The request's logger: every line carries the request id and trace id. */
    log: RequestLogger
    /** Set by `requireAuth` on authenticated routes (and by the value read, once admitted). */
    principal: Principal
    /** The principal's organization, read with the token's status. */
    organization: OrganizationRecord
    /** The operator's trusted proxies, for `clientOf` (undefined: none). */
    trustedProxies: AddressMatcher | undefined
    /** The rate limits' headers (RateLimit, RateLimit-Policy), sent with the response. */
    rateLimit: Record<string, string> | undefined
    /** Dashboard pages: this response's script nonce (see dashboard/guard.ts). */
    nonce: string
    /** Dashboard pages: the verified session token from the cookie. */
    sessionToken: string
    /** Dashboard pages: the CSRF token this session's forms carry. */
    csrf: string
  }
}
