import type { AuditInput } from './events.ts'

/**
 * One event as it crosses to the thread: the input's fields in a flat array, then when it was
 * recorded (ms) and, in strict mode, the ticket its outcome answers. Copying a message costs
 * the request thread per property name and per object; a flat array has no names, and the
 * objects events share (a principal's actor, a key's target and details: events.ts `actorOf`,
 * reads/answer.ts) are written once per message by the structured clone. On a buffered value
 * read this hand-off was most of what the audit trail cost the request thread.
 */
export type Posted = [
  tenantId: AuditInput['tenantId'],
  action: AuditInput['action'],
  actor: AuditInput['actor'],
  target: AuditInput['target'],
  outcome: AuditInput['outcome'],
  requestId: AuditInput['requestId'],
  traceId: AuditInput['traceId'],
  address: string | null | undefined,
  userAgent: string | null | undefined,
  details: AuditInput['details'],
  at: number,
  ticket?: number,
]

export const TICKET = 11

export function pack(input: AuditInput, at: number, ticket?: number): Posted {
  const posted: Posted = [
    input.tenantId,
    input.action,
    input.actor,
    input.target,
    input.outcome,
    input.requestId,
    input.traceId,
    input.client?.address,
    input.client?.userAgent,
    input.details,
    at,
  ]
  if (ticket !== undefined) posted[TICKET] = ticket
  return posted
}

/** The thread's side of `pack`: the input as recorded, its time and its ticket. */
export function unpack(posted: Posted): { input: AuditInput; at: number; ticket?: number } {
  const [tenantId, action, actor, target, outcome, requestId, traceId, address, userAgent] = posted
  const input: AuditInput = {
    tenantId,
    action,
    actor,
    target,
    outcome,
    requestId,
    traceId,
    client: { address, userAgent },
  }
  if (posted[9] !== undefined) input.details = posted[9]
  return { input, at: posted[10], ticket: posted[TICKET] }
}

export type ThreadRequest =
  | { type: 'events'; events: Posted[] }
  | { type: 'flush' | 'close'; ref: number }

export type ThreadReply =
  | { type: 'settled'; done: number[]; failed: Array<[ticket: number, code: string]> }
  | { type: 'finished'; ref: number; error?: string }
  | { type: 'observed'; flushedSeconds?: number; dropped?: number; pending: number }
