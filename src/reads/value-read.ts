import { outcomeOf, SUCCESS } from '../audit/events.ts'
import type { Authenticated, Authenticator } from '../auth/authenticate.ts'
import type { RevealedValue, ValueReader } from '../domain/key-values.ts'
import { isAppError } from '../errors.ts'
import { type AuditEntry, auditInput, type RequestAudit, type RequestParty } from '../http/audit.ts'
import type { Client } from '../http/client.ts'
import { parseInput } from '../http/router.ts'
import { REF_PATTERN, Ref, ValueQuery } from '../http/routes/key-schemas.ts'
import { andThen, type Maybe } from '../lib/maybe.ts'
import { valueAnswer, valueReadEntry } from './answer.ts'

/** One `GET /v1/keys/{ref}/value`, as an entrance hands it over. */
export interface ValueReadRequest {
  /** The bearer token, already taken from the Authorization header. */
  token: string
  /** `{ref}` and `?version` as sent: validated here, after the token. */
  ref: string
  version?: string | undefined
  requestId: string
  traceId?: string | undefined
  client: Client
  /**
   * For an entrance that hands refusals to another path: a rate-limit refusal is neither
   * counted nor described, and a failed read is not recorded (the other path records it).
   */
  quiet?: boolean
  /** Told who is asking once the token is admitted (the route's refusals are filed under it). */
  admitted?: (who: Authenticated) => void
}

export interface ValueReadDeps {
  authenticator: Pick<Authenticator, 'authenticate'>
  reveal: ValueReader
  audit: RequestAudit
}

/**
 * The value read, whole: authenticate the token (its status read with the key in one
 * BatchGetItem when not remembered), validate the input, then the domain's stages (may this
 * principal read values, load the key, resolve mock or live, open the value through the
 * data-key cache or KMS), build the answer and record the event. Every stage answers at once
 * when what it needs is in memory and returns a promise only when it must wait, so a warm
 * read runs start to finish without a promise hop and a cold one waits only where it is cold.
 * Refusals are thrown (synchronously or as a rejection) for the entrance to answer.
 */
export function createValueRead({ authenticator, reveal, audit }: ValueReadDeps) {
  function read(request: ValueReadRequest): Maybe<Response> {
    const who = authenticator.authenticate(request.token, {
      address: request.client.address,
      // A malformed ref is refused after the token is checked; nothing is read for it.
      keyRef: REF_PATTERN.test(request.ref) ? request.ref : undefined,
      limit: request.quiet ? 'quiet' : true,
    })
    return andThen(who, (who) => revealFor(request, who))
  }

  function revealFor(request: ValueReadRequest, who: Authenticated): Maybe<Response> {
    request.admitted?.(who)
    const { ref, version } = validInput(request)
    let revealed: Maybe<RevealedValue>
    try {
      revealed = reveal(who.principal, who.organization, ref, { version, key: who.key })
    } catch (error) {
      return failed(request, who, version, error)
    }
    if (revealed instanceof Promise) {
      return revealed.then(
        (value) => answer(request, who, value),
        (error: unknown) => failed(request, who, version, error),
      )
    }
    return answer(request, who, revealed)
  }

  /** The response, once its event is recorded: strict mode waits for the write, buffered queues. */
  function answer(request: ValueReadRequest, who: Authenticated, revealed: RevealedValue) {
    const response = valueAnswer(request.requestId, revealed, who.rateLimit?.headers)
    if (audit.mode === 'off') return response
    const recorded = audit.record(
      auditInput(party(request, who), valueReadEntry(revealed), SUCCESS),
    )
    return audit.mode === 'strict' ? recorded.then(() => response) : response
  }

  /**
   * A read that failed after the token was admitted is recorded, except 401/403 refusals
   * (http/middleware/audit-rejections.ts records those) and in quiet mode.
   */
  function failed(
    request: ValueReadRequest,
    who: Authenticated,
    version: number | undefined,
    error: unknown,
  ): Promise<never> {
    const status = isAppError(error) ? error.status : 500
    if (request.quiet || audit.mode === 'off' || status === 401 || status === 403) throw error
    const entry: AuditEntry = {
      action: 'key.value.read',
      target: { type: 'key', id: request.ref },
      details: version !== undefined ? { version } : {},
    }
    return audit
      .record(auditInput(party(request, who), entry, outcomeOf(error)))
      .catch(() => {})
      .then(() => {
        throw error
      })
  }

  /**
   * `{ref}` and `?version` by the route's schemas. The common read, a well-formed ref and no
   * version, needs only the pattern `Ref` is made of, which spares it two zod parses.
   */
  function validInput(request: ValueReadRequest): { ref: string; version: number | undefined } {
    if (request.version === undefined && REF_PATTERN.test(request.ref)) {
      return { ref: request.ref, version: undefined }
    }
    const { ref } = parseInput(Ref, { ref: request.ref })
    return { ref, version: parseInput(ValueQuery, { version: request.version }).version }
  }

  const party = (request: ValueReadRequest, who: Authenticated): RequestParty => ({
    principal: who.principal,
    requestId: request.requestId,
    traceId: request.traceId,
    client: request.client,
  })

  return read
}

export type ValueRead = ReturnType<typeof createValueRead>
