import { performance } from 'node:perf_hooks'

/**
 * Whether this process is busy serving: foreground work was seen within the window and its
 * event loop was more than `threshold` busy over the last window. Background jobs ask it before
 * each record and give way (slow to their floor rate) while it says yes, so a re-encryption
 * job never takes the CPU that value reads need; an idle or lightly used server still runs
 * them at full rate. Both conditions matter: a job alone keeps the loop busy too, and must not
 * mistake its own work for traffic.
 */
export function createForegroundGauge({
  threshold = 0.7,
  windowMs = 500,
  now = () => performance.now(),
  utilization = (
    current?: ReturnType<typeof performance.eventLoopUtilization>,
    previous?: ReturnType<typeof performance.eventLoopUtilization>,
  ) => performance.eventLoopUtilization(current, previous),
}: {
  threshold?: number
  windowMs?: number
  now?: () => number
  utilization?: typeof performance.eventLoopUtilization
} = {}) {
  let lastSeen = Number.NEGATIVE_INFINITY
  let sample = utilization()
  let sampledAt = now()
  let loopBusy = false
  return {
    /** Called on every foreground operation (request, value read): must stay this cheap. */
    mark(): void {
      lastSeen = now()
    },
    busy(): boolean {
      const t = now()
      if (t - sampledAt >= windowMs) {
        const next = utilization()
        loopBusy = utilization(next, sample).utilization > threshold
        sample = next
        sampledAt = t
      }
      return loopBusy && t - lastSeen < windowMs
    },
  }
}

export type ForegroundGauge = ReturnType<typeof createForegroundGauge>
