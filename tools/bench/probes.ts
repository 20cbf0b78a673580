import { readFile } from 'node:fs/promises'
import { elapsedSecondsSince } from './latency.ts'
import type { Measurement, WindowProbe } from './scenario.ts'

/** Runs `measure` between the probes' start and finish, and returns what they added. */
export async function observeWindow(
  probes: WindowProbe[],
  measure: () => Promise<Measurement>,
): Promise<Measurement> {
  for (const probe of probes) await probe.start()
  let measurement = await measure()
  for (const probe of probes) measurement = await probe.finish(measurement)
  return measurement
}

// USER_HZ: 100 on every Linux build that matters; Node has no sysconf to ask.
const TICKS_PER_SECOND = 100

/**
 * CPU time (user + system, every thread) of each process over the window, as a share of one
 * core, from /proc/<pid>/stat; plus `other`: what the rest of the machine used meanwhile (on a
 * shared machine, the work that competed with ours). Elsewhere than Linux it adds nothing.
 */
export function cpuProbe(processes: Record<string, number>): WindowProbe {
  let startedAt = 0n
  let before = new Map<string, number>()
  return {
    async start() {
      before = await readTicks(processes)
      startedAt = process.hrtime.bigint()
    },
    async finish(measurement) {
      const seconds = elapsedSecondsSince(startedAt)
      const after = await readTicks(processes)
      const cpu: Record<string, number> = {}
      let ours = 0
      for (const [role, ticks] of after) {
        const start = before.get(role)
        if (start === undefined || seconds <= 0) continue
        cpu[role] = (ticks - start) / TICKS_PER_SECOND / seconds
        if (role !== MACHINE) ours += cpu[role]
      }
      const machine = cpu[MACHINE]
      delete cpu[MACHINE]
      if (machine !== undefined) cpu.other = Math.max(0, machine - ours)
      return Object.keys(cpu).length > 0 ? { ...measurement, cpu } : measurement
    },
  }
}

const MACHINE = '(machine)'

async function readTicks(processes: Record<string, number>): Promise<Map<string, number>> {
  const ticks = await readProcessTicks(processes)
  try {
    // First line: "cpu  user nice system idle iowait irq softirq steal ..." over every core.
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? ''
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    ticks.set(MACHINE, fields.reduce((sum, value) => sum + value, 0) - idle)
  } catch {
    // No /proc/stat: no figure for the rest of the machine.
  }
  return ticks
}

async function readProcessTicks(processes: Record<string, number>): Promise<Map<string, number>> {
  const ticks = new Map<string, number>()
  for (const [role, pid] of Object.entries(processes)) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
      // The command name (field 2) may hold spaces and parentheses: count from its end.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // Fields 14 and 15 (utime, stime); the slice starts at field 3.
      ticks.set(role, Number(fields[11]) + Number(fields[12]))
    } catch {
      // No /proc, or the process is gone: no figure for it.
    }
  }
  return ticks
}

/**
 * Counts the Decrypt calls a local KMS in another process answered during the window, through
 * its `GET /_local/calls`. Its edges blur a little: warm-up requests still in flight when it
 * opens, and requests autocannon drops unanswered when it closes, reach KMS but are not among
 * the requests counted; at most 2 x concurrency calls too many, against thousands of reads.
 */
export function kmsDecryptProbe(kmsUrl: string): WindowProbe {
  const count = async () => {
    const response = await fetch(`${kmsUrl}/_local/calls?operation=Decrypt`)
    if (!response.ok) throw new Error(`local KMS: GET /_local/calls answered ${response.status}`)
    return ((await response.json()) as { count: number }).count
  }
  let before = 0
  return {
    async start() {
      before = await count()
    },
    async finish(measurement) {
      const calls = (await count()) - before
      const kmsDecryptsPer1k =
        measurement.requests > 0 ? (calls * 1000) / measurement.requests : Number.NaN
      return { ...measurement, kmsDecryptsPer1k }
    },
  }
}
