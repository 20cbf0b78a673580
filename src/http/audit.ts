import type { Context } from 'hono'
import {
  type AuditAction,
  type AuditActor,
  type AuditDetails,
  type AuditTarget,
  actorOf,
  outcomeOf,
  SUCCESS,
} from '../audit/events.ts'
import type { AuditRecorder } from '../audit/writer.ts'
import type { Principal } from '../auth/principal.ts'
import { isAppError } from '../errors.ts'
import { type Maybe, settle } from '../lib/maybe.ts'
import { type Client, clientOf } from './client.ts'
import type { AppEnv } from './env.ts'

export interface AuditEntry {
  action: AuditAction
  target?: AuditTarget | null
  details?: AuditDetails
  /** Who acted, when not the authenticated principal (sign-up, login). */
  actor?: AuditActor
  tenantId?: string
}

/**
 * The recorder as handlers see it. With the audit trail off they build no event at all: on a
 * cached value read, building one costs about as much as the cache lookups.
 */
export type RequestAudit = Pick<AuditRecorder, 'record' | 'mode'>

/**
 * Records what a handler did, with the request's id, client and principal filled in. In strict
 * audit mode this throws when the event cannot be written, before the handler responds: a
 * value is never revealed without its audit event.
 */
export function auditSuccess(c: Context<AppEnv>, audit: RequestAudit, entry: AuditEntry) {
  if (audit.mode === 'off') return Promise.resolve()
  return audit.record(build(c, entry, SUCCESS))
}

/**
 * Runs `work` and records its outcome either way. 401/403 rejections are recorded by the
 * audit-rejections middleware, so they are not recorded twice here.
 */
export function audited<T>(
  c: Context<AppEnv>,
  audit: RequestAudit,
  entry: AuditEntry | ((result: T) => AuditEntry),
  work: () => Maybe<T>,
  failure?: AuditEntry,
): Promise<T> {
  if (audit.mode === 'off') return settle(work)
  return recordOutcome(c, audit, entry, work, failure)
}

async function recordOutcome<T>(
  c: Context<AppEnv>,
  audit: RequestAudit,
  entry: AuditEntry | ((result: T) => AuditEntry),
  work: () => Maybe<T>,
  failure: AuditEntry | undefined,
): Promise<T> {
  let result: T
  try {
    result = await work()
  } catch (error) {
    const status = isAppError(error) ? error.status : 500
    const base = failure ?? (typeof entry === 'function' ? undefined : entry)
    if (base && status !== 401 && status !== 403) {
      await audit.record(build(c, base, outcomeOf(error))).catch(() => {})
    }
    throw error
  }
  await audit.record(build(c, typeof entry === 'function' ? entry(result) : entry, SUCCESS))
  return result
}

function build(c: Context<AppEnv>, entry: AuditEntry, outcome: ReturnType<typeof outcomeOf>) {
  return auditInput(
    {
      principal: c.get('principal'),
      requestId: c.get('requestId'),
      traceId: c.get('trace')?.traceId,
      client: clientOf(c),
    },
    entry,
    outcome,
  )
}

/** Who asked, as `build` takes it from a Hono context. */
export interface RequestParty {
  principal: Principal | undefined
  requestId: string | undefined
  traceId?: string | undefined
  client: Client
}

/** The event of `entry` for a request described without a Hono context (reads/value-read.ts). */
export function auditInput(
  { principal, requestId, traceId, client }: RequestParty,
  entry: AuditEntry,
  outcome: ReturnType<typeof outcomeOf>,
) {
  const { address, userAgent } = client
  return {
    tenantId: entry.tenantId ?? principal?.tenantId ?? null,
    action: entry.action,
    actor:
      entry.actor ?? (principal ? actorOf(principal) : { type: 'anonymous' as const, id: null }),
    target: entry.target ?? null,
    outcome,
    requestId: requestId ?? null,
    traceId: traceId ?? null,
    client: { address: address ?? null, userAgent: userAgent ?? null },
    ...(entry.details ? { details: entry.details } : {}),
  }
}
