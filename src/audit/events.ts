import type { Principal } from '../auth/principal.ts'
import { isAppError } from '../errors.ts'

/**
 * Every action the audit trail knows. Names are `<object>.<verb>`; they are part of the API
 * (callers filter on them), so they never change meaning.
 */
export const AUDIT_ACTIONS = [
  'auth.signup',
  'auth.login', // success, and failures (outcome denied) when the account's tenant is known
  'auth.logout',
  'auth.mfa.enrol', // a second factor set up (details: method)
  'auth.mfa.remove', // removed by its person
  'auth.mfa.recovery_codes', // a new set of recovery codes replaced the unused ones
  'auth.mfa.reset', // removed by the operator's break-glass command
  'token.create',
  'token.revoke',
  'token.rejected', // a 401/403 answered to a request that carried a token
  'token.exchange', // a workload's OIDC token for an access token; details: issuer, subject
  'trust.create',
  'trust.delete',
  'key.create',
  'key.update', // metadata
  'key.version.create',
  'key.value.read', // details: version, environment, mode (live | mock)
  'key.delete',
  'org.update',
  'org.delete',
  'encryption.update',
  'encryption.job.start',
  'encryption.job.finish',
  'encryption.job.fail',
  'encryption.rekey.request', // a forced re-key (details: jobId), or a change of the period
  'encryption.rekey.start',
  'encryption.rekey.finish',
  'encryption.rekey.fail',
  'encryption.rotation_due', // raw key material nearing the end of its period: supply new material
  'audit.export',
  'webhook.create',
  'webhook.update',
  'webhook.delete',
  'webhook.secret.rotate',
  'webhook.test',
  'sso.update', // the organization's single sign-on settings (details: issuer, required)
  'sso.delete',
  'sso.domain.add',
  'sso.domain.verify',
  'sso.required.clear', // the operator's break-glass command
  'auth.sso.login', // success, and failures when the organization is known (details: issuer)
  'auth.sso.provision', // a person signed in for the first time and became a member
  'auth.device.approve', // details: client address and host of the device
  'auth.device.deny',
  'member.add', // details: role, via (invitation | sso)
  'member.role.change', // details: from, to, tokensNarrowed, tokensRevoked
  'member.remove', // details: role, keepTokens, tokensRevoked, sessionsEnded
  'member.ownership.transfer', // target: the new owner
  'member.grant.change', // production reveals granted or withdrawn; details: granted
  'invitation.create', // details: role, email sent
  'invitation.revoke',
  'invitation.accept',
  'auth.switch', // a new session in another organization of the same person
] as const

export type AuditAction = (typeof AUDIT_ACTIONS)[number]

export interface AuditActor {
  /** `user`: a person through a session; `token`: an access token; `system`: a background job. */
  type: 'user' | 'token' | 'system' | 'anonymous'
  id: string | null
  name?: string | null
  /** The session or token the actor used, when that is not already `id`. */
  tokenId?: string | null
}

export interface AuditTarget {
  type:
    | 'org'
    | 'user'
    | 'token'
    | 'key'
    | 'encryption'
    | 'job'
    | 'audit'
    | 'webhook'
    | 'trust'
    | 'invitation'
  id: string
  name?: string | null
}

export type AuditOutcome = { result: 'success' } | { result: 'denied' | 'error'; code: string }

/** Flat facts about the event. Never a value, password, token string or key material. */
export type AuditDetails = Record<string, string | number | boolean | null>

/** What a caller hands to `audit.record(...)`. */
export interface AuditInput {
  /** null: nobody to file it under (unknown e-mail, unverifiable token): it goes to the log only. */
  tenantId: string | null
  action: AuditAction
  actor: AuditActor
  target?: AuditTarget | null
  outcome: AuditOutcome
  requestId?: string | null
  /** The request's W3C trace id. */
  traceId?: string | null
  client?: { address?: string | null; userAgent?: string | null } | null
  details?: AuditDetails
}

/** An event as stored, exported and hashed: every field present, absent ones as null. */
export interface AuditEvent {
  id: string
  tenantId: string
  time: string
  action: AuditAction
  actor: {
    type: AuditActor['type']
    id: string | null
    name: string | null
    tokenId: string | null
  }
  target: { type: AuditTarget['type']; id: string; name: string | null } | null
  outcome: { result: AuditOutcome['result']; code: string | null }
  requestId: string | null
  /** The request's W3C trace id; absent from events recorded before traces were kept. */
  traceId?: string | null
  client: { address: string | null; userAgent: string | null }
  details: AuditDetails
  /** Position in its hash chain: see chain.ts. */
  chain: { id: string; seq: number; prev: string }
  hash: string
}

export type UnsealedEvent = Omit<AuditEvent, 'chain' | 'hash'>

export const SUCCESS: AuditOutcome = { result: 'success' }

/** The outcome an error stands for: 4xx answers are denials, everything else an error. */
export function outcomeOf(error: unknown): AuditOutcome {
  if (isAppError(error)) {
    return { result: error.status < 500 ? 'denied' : 'error', code: error.code }
  }
  return { result: 'error', code: 'internal' }
}

/** The actor behind an authenticated request: the user for a session, else the token. */
// A principal is one frozen object for as long as its token's status is remembered, so its
// actor is built once, not per event: the events of one hand-off to the audit thread then
// share it, and the structured clone writes it once (off-thread.ts).
const actors = new WeakMap<Principal, AuditActor>()

export function actorOf(principal: Principal): AuditActor {
  let actor = actors.get(principal)
  if (actor === undefined) {
    actor = Object.freeze(
      principal.kind === 'session' && principal.userId
        ? { type: 'user' as const, id: principal.userId, tokenId: principal.tokenId }
        : { type: 'token' as const, id: principal.tokenId, name: principal.name ?? null },
    )
    actors.set(principal, actor)
  }
  return actor
}

// Defence in depth: the first defence is never to pass a secret in. A detail with a secret's
// name, or a string shaped like a JWT, is dropped rather than stored.
const FORBIDDEN_DETAIL =
  /^(value|values|password|secret|plaintext|material|keymaterial|rawkey|privatekey|dek|token|authorization|cookie|ciphertext)$/i
const DETAIL_NAME = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/
const JWT_SHAPED = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/
const MAX_DETAILS = 20
const MAX_TEXT = 256

export function cleanDetails(details: AuditDetails | undefined): {
  details: AuditDetails
  dropped: string[]
} {
  const out: AuditDetails = {}
  const dropped: string[] = []
  for (const [name, value] of Object.entries(details ?? {})) {
    const kept = Object.keys(out).length < MAX_DETAILS
    if (!kept || !DETAIL_NAME.test(name) || FORBIDDEN_DETAIL.test(name)) {
      dropped.push(name.slice(0, 64))
    } else if (typeof value === 'string') {
      if (JWT_SHAPED.test(value)) dropped.push(name)
      else out[name] = value.slice(0, MAX_TEXT)
    } else if (value === null || typeof value === 'boolean') {
      out[name] = value
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      out[name] = value
    } else {
      dropped.push(name)
    }
  }
  return { details: out, dropped }
}

const text = (value: string | null | undefined, max = 200) =>
  value === undefined || value === null ? null : value.slice(0, max)

const TRACE_ID = /^[0-9a-f]{32}$/

/** The stored shape of an input, before it takes its place in a chain. */
export function normalise(
  input: AuditInput & { tenantId: string },
  { id, time, details }: { id: string; time: string; details: AuditDetails },
): UnsealedEvent {
  return {
    id,
    tenantId: input.tenantId,
    time,
    action: input.action,
    actor: {
      type: input.actor.type,
      id: text(input.actor.id),
      name: text(input.actor.name),
      tokenId: text(input.actor.tokenId),
    },
    target: input.target
      ? {
          type: input.target.type,
          id: input.target.id.slice(0, 200),
          name: text(input.target.name),
        }
      : null,
    outcome:
      input.outcome.result === 'success'
        ? { result: 'success', code: null }
        : { result: input.outcome.result, code: input.outcome.code.slice(0, 64) },
    requestId: text(input.requestId, 128),
    traceId: input.traceId && TRACE_ID.test(input.traceId) ? input.traceId : null,
    client: {
      address: text(input.client?.address, 64),
      userAgent: text(input.client?.userAgent, 512),
    },
    details,
  }
}
