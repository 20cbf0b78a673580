import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { CallFilter, CallLog } from './calls.ts'
import type { Reply } from './dispatch.ts'
import type { FaultController, FaultSpec } from './faults.ts'

/**
 * `/_local/...`: control of a standalone local KMS over HTTP, for what a test in another process
 * (or a developer with curl) cannot reach through `kms.faults`.
 *
 *   GET    /_local/health   readiness
 *   GET    /_local/faults   faults in force
 *   POST   /_local/faults   add: a FaultSpec, an array of them, or
 *                           {"type":"refuseConnections","durationMs":N} (listens again after N ms,
 *                           since nothing could reach this port to ask)
 *   DELETE /_local/faults   clear
 *   GET    /_local/calls    {"count":N}: calls answered so far, filtered by any of the query
 *                           parameters operation, keyId, region, caller, outcome (a benchmark
 *                           in another process counts Decrypt calls this way)
 */
export async function handleAdmin(request: {
  method: string
  path: string
  query: URLSearchParams
  body: string
  faults: FaultController
  calls: CallLog
  listener: { stop(except?: Socket): Promise<void>; start(): Promise<void> }
  res: ServerResponse
}): Promise<Reply> {
  const { method, path, body, faults } = request
  const json = (status: number, value: unknown): Reply => ({
    status,
    contentType: 'application/json',
    body: JSON.stringify(value),
  })
  if (path === '/_local/health' && method === 'GET') return json(200, { ok: true })
  if (path === '/_local/calls') {
    if (method !== 'GET') return json(405, { message: 'use GET' })
    return json(200, { count: request.calls.count(callFilter(request.query)) })
  }
  if (path !== '/_local/faults') return json(404, { message: `no such path ${path}` })
  if (method === 'GET') return json(200, { faults: faults.active })
  if (method === 'DELETE') {
    faults.clear()
    return json(200, { faults: [] })
  }
  if (method !== 'POST') return json(405, { message: 'use GET, POST or DELETE' })
  try {
    const parsed: unknown = JSON.parse(body)
    const specs = (Array.isArray(parsed) ? parsed : [parsed]) as Array<
      FaultSpec | { type: 'refuseConnections'; durationMs: number }
    >
    for (const spec of specs) {
      if (spec.type === 'refuseConnections') {
        const duration = spec.durationMs
        if (!Number.isFinite(duration) || duration <= 0) throw new Error('durationMs must be > 0')
        // Stop listening before answering, so that once the caller has this answer nothing
        // connects; this connection closes after the answer, then the timer reopens the port.
        request.res.setHeader('connection', 'close')
        void request.listener.stop(request.res.socket ?? undefined).then(() => {
          setTimeout(() => void request.listener.start().catch(() => {}), duration)
        })
      } else {
        faults.add(spec)
      }
    }
    return json(200, { faults: faults.active })
  } catch (error) {
    return json(400, { message: error instanceof Error ? error.message : 'invalid fault' })
  }
}

const filterFields = ['operation', 'keyId', 'region', 'caller', 'outcome'] as const

function callFilter(query: URLSearchParams): CallFilter {
  const filter: CallFilter = {}
  for (const field of filterFields) {
    const value = query.get(field)
    if (value !== null) filter[field] = value
  }
  return filter
}
