import { clientFrom } from '../http/client.ts'
import { BEARER } from '../http/middleware/auth.ts'
import { logRequest, requestIdFor } from '../http/middleware/request-context.ts'
import { traceFrom } from '../http/trace-context.ts'
import type { Maybe } from '../lib/maybe.ts'
import type { Logger } from '../logger.ts'
import type { HistogramCell } from '../metrics/histogram-cells.ts'
import type { AddressMatcher } from '../net/cidr.ts'
import type { ValueRead } from './value-read.ts'

/** `/v1/keys/{ref}/value` with no query string and nothing percent-encoded. */
const VALUE_PATH = /^\/v1\/keys\/([^/?#%]+)\/value$/

export interface ValueReadEntranceDeps {
  read: ValueRead
  logger: Logger
  /** Told of every request it answers, as requestContext tells of the others. */
  onRequest?: () => void
  /** The value route's 2xx cell of the HTTP metrics, resolved once. */
  metrics?: Pick<HistogramCell, 'observe'>
  /** The operator's trusted proxies, as requestContext has them. */
  trustedProxies?: AddressMatcher | undefined
}

/**
 * Takes `GET /v1/keys/{ref}/value` before Hono dispatches it and runs the same `read()` as the
 * route, sparing the read the middleware chain and the router. It answers successes only,
 * with the access-log line and metrics requestContext would write: a refusal of any kind (and
 * any request with a query string) goes to the route instead, which answers and records it.
 * `quiet` makes sure a refused read left nothing behind: no failure event, no rate-limit count.
 * Undefined, or a promise of undefined, means "not mine".
 */
export function valueReadEntrance({
  read,
  logger,
  onRequest,
  metrics,
  trustedProxies,
}: ValueReadEntranceDeps) {
  return (request: Request, env: unknown): Maybe<Response | undefined> => {
    if (request.method !== 'GET') return undefined
    const url = request.url
    const path = url.slice(url.indexOf('/', url.indexOf('://') + 3))
    const ref = VALUE_PATH.exec(path)?.[1]
    const header = ref === undefined ? null : request.headers.get('authorization')
    const token = header ? BEARER.exec(header.trim())?.[1] : undefined
    if (ref === undefined || token === undefined) return undefined

    const started = performance.now()
    const requestId = requestIdFor(request.headers.get('x-request-id'))
    const { traceId } = traceFrom(request.headers.get('traceparent'))
    const client = clientFrom(env, request.headers.get('user-agent'), {
      forwardedFor: trustedProxies && request.headers.get('x-forwarded-for'),
      trusted: trustedProxies,
    })
    let answer: Maybe<Response>
    try {
      answer = read({ token, ref, requestId, traceId, client, quiet: true })
    } catch {
      return undefined
    }
    const done = { logger, onRequest, metrics, requestId, traceId, path, started }
    if (answer instanceof Promise) {
      return answer.then(
        (response) => answered(done, response),
        () => undefined,
      )
    }
    return answered(done, answer)
  }
}

interface Answered {
  logger: Logger
  onRequest: (() => void) | undefined
  metrics: Pick<HistogramCell, 'observe'> | undefined
  requestId: string
  traceId: string
  path: string
  started: number
}

function answered(done: Answered, response: Response): Response {
  done.onRequest?.()
  logRequest(done.logger, done.requestId, done.traceId, 'GET', done.path, 200, done.started)
  done.metrics?.observe((performance.now() - done.started) / 1000)
  return response
}
