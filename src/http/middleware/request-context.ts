import { createMiddleware } from 'hono/factory'
import type { Logger } from '../../logger.ts'
import type { AppEnv } from '../env.ts'

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/

export interface RequestContextOptions {
  logger: Logger
  generateId?: () => string
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is well-formed, else a new
 * one), echoes it, and writes one access-log line when the response is ready. The line has
 * the path but never the query string, which is the one place a careless client might put a
 * secret.
 */
export function requestContext({
  logger,
  generateId = () => `req_${crypto.randomUUID().replaceAll('-', '')}`,
}: RequestContextOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const offered = c.req.header('x-request-id')
    const requestId = offered && WELL_FORMED_ID.test(offered) ? offered : generateId()
    const log = logger.child({ requestId })
    c.set('requestId', requestId)
    c.set('log', log)
    const started = performance.now()
    await next()
    c.res.headers.set('x-request-id', requestId)
    const status = c.res.status
    const line = {
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    }
    if (status >= 500) log.error(line, 'request failed')
    else log.info(line, 'request')
  })
}
