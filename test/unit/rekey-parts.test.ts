import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createDekCache } from '../../src/crypto/dek-cache.ts'
import { describeKekRotation, rawMaterialPeriod } from '../../src/domain/kek-rotation.ts'
import { createTicker } from '../../src/jobs/ticker.ts'
import { createLogger } from '../../src/logger.ts'
import { nextDue } from '../../src/storage/rekey-schedule.ts'

const DAY = 86_400_000
const silent = createLogger({ level: 'silent' })

describe('the re-keying tick', () => {
  afterEach(() => vi.useRealTimers())

  it('calls its task every interval, never two at once, and stop() waits for the one running', async () => {
    vi.useFakeTimers()
    let calls = 0
    let finish: () => void = () => {}
    const ticker = createTicker({
      name: 'test tick',
      intervalMs: 1000,
      logger: silent,
      tick: () => {
        calls++
        return new Promise<void>((resolve) => {
          finish = resolve
        })
      },
    })
    ticker.start()
    await vi.advanceTimersByTimeAsync(999)
    expect(calls).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toBe(1)
    // Still running: the next intervals pass it by.
    await vi.advanceTimersByTimeAsync(3000)
    expect(calls).toBe(1)
    finish()
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toBe(2)
    let stopped = false
    const stopping = ticker.stop().then(() => {
      stopped = true
    })
    await vi.advanceTimersByTimeAsync(0)
    expect(stopped).toBe(false)
    finish()
    await stopping
    await vi.advanceTimersByTimeAsync(5000)
    expect(calls).toBe(2)
  })

  it('survives a failing task and refuses a bad interval when created', async () => {
    vi.useFakeTimers()
    let calls = 0
    const ticker = createTicker({
      name: 'failing tick',
      intervalMs: 10,
      logger: silent,
      tick: async () => {
        calls++
        throw new Error('storage unavailable')
      },
    })
    ticker.start()
    await vi.advanceTimersByTimeAsync(35)
    expect(calls).toBe(3)
    await ticker.stop()
    expect(() =>
      createTicker({ name: 'x', intervalMs: 0, logger: silent, tick: async () => {} }),
    ).toThrow(RangeError)
  })
})

describe('periods', () => {
  it('puts the next re-key a period after its start, and none for a period of 0', () => {
    expect(nextDue('2026-01-01T00:00:00.000Z', 365)).toBe('2027-01-01T00:00:00.000Z')
    expect(nextDue(Date.parse('2026-01-01T00:00:00.000Z'), 30)).toBe('2026-01-31T00:00:00.000Z')
    expect(nextDue('2026-01-01T00:00:00.000Z', 0)).toBeUndefined()
  })

  it('reminds raw material’s owner 30 days before its period ends (half-way for short ones)', () => {
    const setAt = '2026-01-01T00:00:00.000Z'
    expect(rawMaterialPeriod(setAt, 365)).toEqual({
      replaceBy: '2027-01-01T00:00:00.000Z',
      remindFrom: '2026-12-02T00:00:00.000Z',
    })
    expect(rawMaterialPeriod(setAt, 20)?.remindFrom).toBe('2026-01-11T00:00:00.000Z')
    expect(rawMaterialPeriod(setAt, 0)).toBeUndefined()
    const view = (now: number) =>
      describeKekRotation({ provider: 'raw', raw: { setAt, periodDays: 365, now } })
    expect(view(Date.parse(setAt) + 334 * DAY).materialRotationDue).toBe(false)
    expect(view(Date.parse(setAt) + 335 * DAY)).toMatchObject({
      automatic: null,
      replaceMaterialBy: '2027-01-01T00:00:00.000Z',
      materialRotationDue: true,
    })
  })
})

describe('the data-key cache after a re-key', () => {
  it('forgets exactly the data key whose wrapped form left storage', async () => {
    const cache = createDekCache({ ttlSeconds: 300, maxEntries: 10 })
    const [old, kept] = [randomBytes(40), randomBytes(40)]
    let unwraps = 0
    const unwrap = async () => {
      unwraps++
      return randomBytes(32)
    }
    await cache.getDek({ tenantId: 'org_a', wrapped: old }, unwrap)
    await cache.getDek({ tenantId: 'org_a', wrapped: kept }, unwrap)
    expect(cache.forget('org_b', old)).toBe(false)
    expect(cache.forget('org_a', old)).toBe(true)
    expect(cache.forget('org_a', old)).toBe(false)
    // The kept one is still held (answered at once), the forgotten one must be unwrapped again.
    expect(cache.getDek({ tenantId: 'org_a', wrapped: kept }, unwrap)).not.toBeInstanceOf(Promise)
    expect(unwraps).toBe(2)
    await cache.getDek({ tenantId: 'org_a', wrapped: old }, unwrap)
    expect(unwraps).toBe(3)
  })
})
