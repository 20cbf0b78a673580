import { describe, expect, it } from 'vitest'
import { isId, newId, newRequestId } from '../../src/ids.ts'

describe('ids', () => {
  it('request ids are req_ and 32 hex digits, distinct across refills of the random pool', () => {
    // 4 KiB of pool is 256 request ids: 1,000 of them cross several refills.
    const ids = Array.from({ length: 1000 }, newRequestId)
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('typed ids sort by time and are told apart by prefix', () => {
    const earlier = newId('key', 1_700_000_000_000)
    const later = newId('key', 1_700_000_000_001)
    expect(earlier < later).toBe(true)
    expect(isId('key', earlier)).toBe(true)
    expect(isId('tok', earlier)).toBe(false)
  })
})
