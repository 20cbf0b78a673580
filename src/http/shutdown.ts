import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { AppError } from '../errors.ts'
import { newRequestId } from '../ids.ts'
import type { Logger } from '../logger.ts'
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.ts'

export interface GracefulShutdownOptions {
  /** How long readiness fails while the server still serves: the load balancer's deregistration delay. */
  drainMs?: number
  /** How long in-flight requests may take once the server stops accepting; then they are cut. */
  graceMs?: number
  logger: Logger
}

export interface ShutdownOutcome {
  /** Requests still running when the grace ran out, whose connections were closed. */
  cut: number
}

/**
 * Stops an HTTP server the way an orchestrator expects, without waiting on its clients:
 *
 * 1. at once, `stopping()` turns true (readiness fails, so the load balancer stops sending);
 * 2. after `drainMs`, the server stops accepting, idle keep-alive connections close, responses
 *    in flight go out with `Connection: close`, and a request that still arrives on an old
 *    connection gets 503 `shutting_down` with `Connection: close`;
 * 3. in-flight requests get at most `graceMs`; whatever still runs then is cut.
 *
 * Why all of it: `server.close()` alone stops only new connections. Clients that keep their
 * connections busy kept being served for as long as they wrote, and the work that must follow
 * (writing buffered audit events) waited behind them until an orchestrator's SIGKILL.
 */
export function gracefulShutdown({
  drainMs = 0,
  graceMs = 10_000,
  logger,
}: GracefulShutdownOptions) {
  if (!(drainMs >= 0) || !(graceMs >= 0)) throw new RangeError('drainMs and graceMs must be >= 0')
  let phase: 'serving' | 'draining' | 'closing' = 'serving'
  /** Requests being answered, by connection. */
  const active = new Map<Socket, Set<ServerResponse>>()
  let settle: (() => void) | undefined

  const finished = (socket: Socket, res: ServerResponse) => {
    const responses = active.get(socket)
    responses?.delete(res)
    if (responses?.size === 0) {
      active.delete(socket)
      // A response that began before the close went out without `Connection: close`.
      if (phase === 'closing' && !socket.destroyed) socket.end()
    }
    if (phase === 'closing' && active.size === 0) settle?.()
  }

  return {
    /** True from the signal on: readiness reports the instance as stopping. */
    stopping: () => phase !== 'serving',

    /** Wraps the server's request listener (see `createServer` in main.ts). */
    wrap(listener: RequestListener): RequestListener {
      return (req: IncomingMessage, res: ServerResponse) => {
        const socket = req.socket
        if (phase === 'closing') {
          refuse(res)
          return
        }
        const responses = active.get(socket) ?? new Set()
        active.set(socket, responses)
        responses.add(res)
        res.once('close', () => finished(socket, res))
        listener(req, res)
      }
    },

    async shutdown(server: Server): Promise<ShutdownOutcome> {
      if (phase !== 'serving') throw new Error('shutdown already started')
      phase = 'draining'
      if (drainMs > 0) {
        logger.info({ drainMs }, 'shutting down: readiness fails; serving until the drain ends')
        await delay(drainMs)
      }
      phase = 'closing'
      const closed = new Promise<void>((done) => server.close(() => done()))
      server.closeIdleConnections()
      for (const responses of active.values()) {
        for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close')
      }
      const inFlight = [...active.values()].reduce((n, set) => n + set.size, 0)
      logger.info({ inFlight, graceMs }, 'shutting down: no longer accepting')
      if (active.size > 0) {
        const allDone = new Promise<void>((done) => {
          settle = done
        })
        let timer: NodeJS.Timeout | undefined
        const outcome = await Promise.race([
          allDone.then(() => 'done' as const),
          new Promise<'grace'>((done) => {
            timer = setTimeout(() => done('grace'), graceMs)
          }),
        ])
        clearTimeout(timer)
        if (outcome === 'grace') {
          const cut = [...active.values()].reduce((n, set) => n + set.size, 0)
          logger.warn(
            { cut, graceMs },
            'shutting down: requests still running after the grace were cut',
          )
          server.closeAllConnections()
          await closed
          return { cut }
        }
      }
      await closed
      return { cut: 0 }
    },
  }
}

export type GracefulShutdown = ReturnType<typeof gracefulShutdown>

/** The answer to a request that arrives on an old connection after the server stopped accepting. */
function refuse(res: ServerResponse): void {
  const problem = toProblem(
    new AppError('shutting_down', 'This instance is shutting down; retry on another.'),
    newRequestId(),
  )
  res.writeHead(503, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
    'retry-after': '1',
    'x-request-id': problem.requestId,
    connection: 'close',
  })
  res.end(JSON.stringify(problem))
}
