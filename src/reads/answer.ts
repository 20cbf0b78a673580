import type { z } from '@hono/zod-openapi'
import type { RevealedValue } from '../domain/key-values.ts'
import type { AuditEntry } from '../http/audit.ts'
import { jsonResponse } from '../http/response-headers.ts'
import { type KeyValueSchema, keyTarget } from '../http/routes/key-schemas.ts'

/**
 * What a value read answers and records: the response (body, `no-store`, `Keystash-Mode`,
 * rate-limit headers) and the audit event. One builder, whichever entrance took the request.
 */

// Per key record object, like valueJsonParts below: the entry of the last version and mode
// read. Reads of one key then share one entry, which the audit thread's hand-off writes once
// per batch (off-thread.ts); it is frozen, as it is shared.
const entries = new WeakMap<
  object,
  { version: number; mode: RevealedValue['mode']; entry: AuditEntry }
>()

/** A value read's audit event (the API's reads and the dashboard's reveals). */
export function valueReadEntry(r: RevealedValue): AuditEntry {
  const known = entries.get(r.record)
  if (known !== undefined && known.version === r.version && sameMode(known.mode, r.mode)) {
    return known.entry
  }
  const entry: AuditEntry = Object.freeze({
    action: 'key.value.read' as const,
    target: Object.freeze(keyTarget(r.record)),
    details: Object.freeze({
      version: r.version,
      environment: r.mode.environment,
      mode: r.mode.effective,
      modeSource: r.mode.source,
    }),
  })
  entries.set(r.record, { version: r.version, mode: r.mode, entry })
  return entry
}

const sameMode = (a: RevealedValue['mode'], b: RevealedValue['mode']) =>
  a.environment === b.environment && a.effective === b.effective && a.source === b.source

/**
 * A value read's answer: the documented KeyValue body, `no-store`, Keystash-Mode, and the
 * rate limits' headers when the read counted against any.
 */
export function valueAnswer(
  requestId: string,
  revealed: RevealedValue,
  rateLimit?: Record<string, string>,
): Response {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'keystash-mode': revealed.mode.effective,
  }
  if (rateLimit !== undefined) Object.assign(headers, rateLimit)
  return jsonResponse(requestId, valueJson(revealed), 200, headers)
}

interface ValueJsonParts {
  version: number
  mode: RevealedValue['mode']
  /** The body's JSON up to the value, and after it. */
  head: string
  tail: string
}

// Per key record object (a cached record is the same object on every read). On Node 20,
// JSON.stringify of the whole body costs about 1 µs, most of it on the fields around the value.
const valueJsonParts = new WeakMap<object, ValueJsonParts>()

/**
 * A value answer's body: exactly `JSON.stringify` of the KeyValue body, with everything but
 * the value serialised once per key record, version and mode.
 */
export function valueJson(revealed: RevealedValue): string {
  const { record, version, mode } = revealed
  let parts = valueJsonParts.get(record)
  if (parts === undefined || parts.version !== version || !sameMode(parts.mode, mode)) {
    // Typed by the documented schema: the value route is not declared with `.openapi()`, so
    // nothing else ties its body to the contract at compile time.
    const body: z.input<typeof KeyValueSchema> = {
      keyId: record.keyId,
      name: record.name,
      provider: record.provider,
      version,
      value: '',
      mode: { environment: mode.environment, effective: mode.effective, source: mode.source },
    }
    const whole = JSON.stringify(body)
    // Quotes inside strings are escaped, so this is the property itself, not text in a field.
    const at = whole.indexOf('"value":""') + '"value":'.length
    parts = { version, mode: body.mode, head: whole.slice(0, at), tail: whole.slice(at + 2) }
    valueJsonParts.set(record, parts)
  }
  return parts.head + JSON.stringify(revealed.value) + parts.tail
}
