import { describe, expect, it } from 'vitest'
import { traceFrom, traceparentOf } from '../../src/http/trace-context.ts'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'

describe('traceFrom (W3C traceparent)', () => {
  it('keeps a valid trace and gives the request a span of its own', () => {
    const trace = traceFrom(`00-${TRACE}-${PARENT}-01`)
    expect(trace).toMatchObject({ traceId: TRACE, parentId: PARENT, flags: '01' })
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(trace.spanId).not.toBe(PARENT)
    expect(traceparentOf(trace)).toBe(`00-${TRACE}-${trace.spanId}-01`)
    // A later version may carry more fields; its first four are read as version 00's.
    expect(traceFrom(`01-${TRACE}-${PARENT}-00-extra`).traceId).toBe(TRACE)
  })

  it('starts a new trace when the header is absent or invalid', () => {
    const invalid = [
      undefined,
      '',
      'garbage',
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}-01-extra`,
      `00-${TRACE}-${PARENT}`,
    ]
    const seen = new Set<string>()
    for (const header of invalid) {
      const trace = traceFrom(header)
      expect(trace.traceId, String(header)).toMatch(/^[0-9a-f]{32}$/)
      expect(trace.traceId, String(header)).not.toBe(TRACE)
      expect(trace.parentId).toBeUndefined()
      expect(trace.flags).toBe('00')
      seen.add(trace.traceId)
    }
    expect(seen.size).toBe(invalid.length)
  })
})
