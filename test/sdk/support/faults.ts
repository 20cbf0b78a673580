import type { Fetch } from '../../../sdk/src/index.ts'

/** What to do with one request: pass it on, answer it, fail it, or hang until aborted. */
export type Fault =
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: 'network' }
  | { kind: 'hang' }
  | { kind: 'after'; status: number; headers?: Record<string, string> } // forward, then replace

export interface SeenRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: string | undefined
}

/**
 * A fetch that forwards to the real one, except for the faults queued with `next(...)`, one per
 * request, in order. It records every request, forwarded or not.
 */
export function faultyFetch(real: Fetch = (input, init) => fetch(input, init)) {
  const queue: Fault[] = []
  const seen: SeenRequest[] = []
  const wrapped: Fetch = async (input, init) => {
    const headers = Object.fromEntries(new Headers(init.headers).entries())
    const body = typeof init.body === 'string' ? init.body : undefined
    seen.push({ method: init.method ?? 'GET', url: input, headers, body })
    const fault = queue.shift()
    if (!fault) return real(input, init)
    switch (fault.kind) {
      case 'respond':
        return new Response(fault.body === undefined ? null : JSON.stringify(fault.body), {
          status: fault.status,
          headers: { 'content-type': 'application/problem+json', ...fault.headers },
        })
      case 'network':
        throw new TypeError('fetch failed')
      case 'hang':
        return new Promise<Response>((_, reject) => {
          const signal = init.signal as AbortSignal
          signal.addEventListener('abort', () => reject(signal.reason), { once: true })
        })
      case 'after': {
        // The server did the work; the client never hears of it (a lost response).
        await (await real(input, init)).text()
        return new Response(JSON.stringify({ code: 'internal', status: fault.status }), {
          status: fault.status,
          headers: { 'content-type': 'application/problem+json', ...fault.headers },
        })
      }
    }
  }
  return {
    fetch: wrapped,
    seen,
    next(...faults: Fault[]) {
      queue.push(...faults)
    },
  }
}

export const unavailable = (headers?: Record<string, string>): Fault => ({
  kind: 'respond',
  status: 503,
  ...(headers ? { headers } : {}),
  body: { code: 'storage_unavailable', status: 503, detail: 'injected', requestId: 'req_fault' },
})
