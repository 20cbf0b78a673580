import { randomFillSync } from 'node:crypto'

/** A request's place in a W3C Trace Context trace: its trace, and this server's span in it. */
export interface TraceContext {
  traceId: string
  /** This server's span: the parent id of anything it calls on the request's behalf. */
  spanId: string
  /** The caller's span, when a valid `traceparent` named one. */
  parentId: string | undefined
  /** `01` when the caller sampled the trace. */
  flags: string
}

// version-traceid-parentid-flags; later versions may append fields after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/**
 * The trace of a request, from its `traceparent` header (W3C Trace Context, level 1): kept when
 * it is well-formed, replaced by a new trace when it is absent or invalid (version ff, all-zero
 * ids, a version-00 header with extra fields), as the specification asks. Every request gets
 * a new span id of its own.
 */
export function traceFrom(header: string | null | undefined): TraceContext {
  const match = header ? TRACEPARENT.exec(header.trim()) : null
  if (match) {
    const [, version, traceId, parentId, flags, rest] = match as unknown as string[]
    const valid =
      version !== 'ff' &&
      !(version === '00' && rest !== undefined) &&
      traceId !== ZERO_TRACE &&
      parentId !== ZERO_SPAN
    if (valid) {
      return {
        traceId: traceId as string,
        spanId: randomHex(8),
        parentId,
        flags: flags as string,
      }
    }
  }
  return { traceId: randomHex(16), spanId: randomHex(8), parentId: undefined, flags: '00' }
}

/** The `traceparent` to send on calls made for this request (its span as their parent). */
export const traceparentOf = (trace: TraceContext): string =>
  `00-${trace.traceId}-${trace.spanId}-${trace.flags}`

// Random bytes are drawn a few kilobytes at a time: one system call per ~170 requests.
const pool = Buffer.alloc(4096)
let offset = pool.length

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const hex = pool.toString('hex', offset, offset + bytes)
  offset += bytes
  // An all-zero id is invalid; at 2^-64 it would mean a broken generator, so draw again.
  return /^0+$/.test(hex) ? randomHex(bytes) : hex
}
