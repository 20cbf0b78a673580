import { describe, expect, it } from 'vitest'
import { createForegroundGauge } from '../../src/jobs/foreground.ts'
import { createRateLimiter } from '../../src/jobs/pace.ts'

/** A clock moved by hand, and an event-loop utilization the test dictates per window. */
function fakes() {
  let now = 0
  let busyShare = 0
  let total = { idle: 0, active: 0, utilization: 0 }
  return {
    now: () => now,
    advance(ms: number) {
      total = {
        idle: total.idle + ms * (1 - busyShare),
        active: total.active + ms * busyShare,
        utilization: 0,
      }
      now += ms
    },
    loop(share: number) {
      busyShare = share
    },
    // The shape of performance.eventLoopUtilization: totals, or the delta of two samples.
    utilization: ((current?: typeof total, previous?: typeof total) => {
      if (!current) return { ...total }
      const idle = current.idle - (previous?.idle ?? 0)
      const active = current.active - (previous?.active ?? 0)
      return { idle, active, utilization: active / (idle + active) }
    }) as never,
  }
}

describe('foreground gauge', () => {
  it('is busy only while requests arrive and the event loop is mostly busy', () => {
    const f = fakes()
    const gauge = createForegroundGauge({ now: f.now, utilization: f.utilization })
    // A job alone keeps the loop busy: no requests, so not busy.
    f.loop(0.95)
    f.advance(600)
    expect(gauge.busy()).toBe(false)
    // Requests and a busy loop: give way.
    gauge.mark()
    f.advance(600)
    gauge.mark()
    expect(gauge.busy()).toBe(true)
    // Requests on a quiet loop: full speed.
    f.loop(0.2)
    f.advance(600)
    gauge.mark()
    expect(gauge.busy()).toBe(false)
    // Busy again, but the last request is a window old: the job's own work, full speed.
    f.loop(0.95)
    f.advance(600)
    expect(gauge.busy()).toBe(false)
    gauge.mark()
    expect(gauge.busy()).toBe(true)
    f.advance(600)
    expect(gauge.busy()).toBe(false)
  })
})

describe('rate limiter', () => {
  it('spaces slots at the rate, and at the floor rate while told to give way', async () => {
    let busy = false
    const waits: number[] = []
    // The clock stands still, so each wait is how far ahead that call's slot was placed.
    const limit = createRateLimiter(100, () => 0, {
      yieldTo: () => busy,
      floorPerSecond: 10,
      wait: async (ms) => {
        waits.push(ms)
      },
    })
    const signal = new AbortController().signal
    await limit(signal)
    await limit(signal)
    busy = true
    await limit(signal)
    await limit(signal)
    busy = false
    await limit(signal)
    await limit(signal)
    expect(waits).toEqual([0, 10, 20, 120, 220, 230])
  })
})
