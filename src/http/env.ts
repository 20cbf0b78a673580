import type { Principal } from '../auth/principal.ts'
import type { Logger } from '../logger.ts'
import type { OrganizationRecord } from '../storage/accounts.ts'

export type RequestLogger = Pick<Logger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>

/** What middleware puts on the Hono context for the handlers that follow. */
export interface AppEnv {
  Variables: {
    requestId: string
    /** The request's logger: every line carries the request id. */
    log: RequestLogger
    /** Set by `requireAuth` on authenticated routes. */
    principal: Principal
    /** The principal's organization, read with the token's status. */
    organization: OrganizationRecord
    /** Items read together with the token's status (see `requireAuth`'s `prefetch`). */
    prefetched: Map<string, Record<string, unknown>> | undefined
    /** Dashboard pages: this response's script nonce (see dashboard/guard.ts). */
    nonce: string
    /** Dashboard pages: the verified session token from the cookie. */
    sessionToken: string
    /** Dashboard pages: the CSRF token this session's forms carry. */
    csrf: string
  }
}
