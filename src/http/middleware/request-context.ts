import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import { newRequestId } from '../../ids.ts'
import type { Logger } from '../../logger.ts'
import type { Metrics } from '../../metrics/metrics.ts'
import type { AddressMatcher } from '../../net/cidr.ts'
import type { AppEnv, RequestLogger } from '../env.ts'
import { completeHeaders } from '../response-headers.ts'
import { traceFrom } from '../trace-context.ts'

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/

export interface RequestContextOptions {
  logger: Logger
  generateId?: () => string
  /** Told of every request, so background jobs can give way to traffic (jobs/foreground.ts). */
  onRequest?: () => void
  /** Counts and times every request by method, route template and status class. */
  metrics?: Pick<Metrics['http'], 'cell'>
  /** The operator's trusted proxies, which `clientOf` looks past (http/client.ts). */
  trustedProxies?: AddressMatcher | undefined
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is well-formed, else a new
 * one), and once the response is ready, echoes it with the security headers
 * (response-headers.ts) and writes one access-log line. The line has the path but never the
 * query string, which is the one place a careless client might put a secret.
 */
export function requestContext({
  logger,
  generateId = newRequestId,
  onRequest,
  metrics,
  trustedProxies,
}: RequestContextOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    onRequest?.()
    if (trustedProxies) c.set('trustedProxies', trustedProxies)
    const requestId = requestIdFor(c.req.header('x-request-id'), generateId)
    const trace = traceFrom(c.req.header('traceparent'))
    const log = lazyChild(logger, requestId, trace.traceId)
    c.set('requestId', requestId)
    c.set('trace', trace)
    c.set('log', log)
    const started = performance.now()
    await next()
    completeHeaders(c)
    logRequest(logger, requestId, trace.traceId, c.req.method, c.req.path, c.res.status, started)
    metrics
      ?.cell(c.req.method, routeOf(c), c.res.status)
      .observe((performance.now() - started) / 1000)
  })
}

/**
 * The template of the route the request matched (`/v1/keys/:ref`), even when middleware
 * answered before it (a 401); undefined when only middleware matched (no such route).
 */
function routeOf(c: Context<AppEnv>): string | undefined {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]
    if (route && route.method !== 'ALL' && !route.path.endsWith('*')) return route.path
  }
  return undefined
}

/** The caller's `X-Request-Id` when it is well-formed, else a new id. */
export function requestIdFor(
  offered: string | null | undefined,
  generateId: () => string = newRequestId,
): string {
  return offered && WELL_FORMED_ID.test(offered) ? offered : generateId()
}

/** The access-log line of a request that started at `started` (`performance.now()`). */
export function logRequest(
  logger: Logger,
  requestId: string,
  traceId: string,
  method: string,
  path: string,
  status: number,
  started: number,
): void {
  if (!logger.isLevelEnabled(status >= 500 ? 'error' : 'info')) return
  const line = {
    method,
    path,
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
  }
  // Straight to the base logger: one line needs no child.
  if (status >= 500) logger.error({ requestId, traceId, ...line }, 'request failed')
  else logger.info({ requestId, traceId, ...line }, 'request')
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'

/**
 * A child logger made only when the request logs a line at an enabled level: pino prepares
 * redaction for every child, which costs more than the rest of a cached read's middleware.
 */
class LazyRequestLogger {
  #child: Logger | undefined
  constructor(
    private readonly logger: Logger,
    private readonly requestId: string,
    private readonly traceId: string,
  ) {}
  #log(level: Level, args: unknown[]) {
    if (!this.logger.isLevelEnabled(level)) return
    this.#child ??= this.logger.child({ requestId: this.requestId, traceId: this.traceId })
    ;(this.#child[level] as (...a: unknown[]) => void)(...args)
  }
  trace(...args: unknown[]) {
    this.#log('trace', args)
  }
  debug(...args: unknown[]) {
    this.#log('debug', args)
  }
  info(...args: unknown[]) {
    this.#log('info', args)
  }
  warn(...args: unknown[]) {
    this.#log('warn', args)
  }
  error(...args: unknown[]) {
    this.#log('error', args)
  }
  fatal(...args: unknown[]) {
    this.#log('fatal', args)
  }
}

const lazyChild = (logger: Logger, requestId: string, traceId: string): RequestLogger =>
  new LazyRequestLogger(logger, requestId, traceId) as unknown as RequestLogger
