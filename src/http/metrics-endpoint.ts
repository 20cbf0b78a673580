import { timingSafeEqual } from 'node:crypto'
import { Hono } from 'hono'
import type { Metrics } from '../metrics/metrics.ts'

export interface MetricsEndpointOptions {
  metrics: Pick<Metrics, 'scrape'>
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  token?: string | undefined
}

/**
 * `GET /metrics` in the Prometheus text format, for the metrics' own listener (main.ts), never
 * the API's: what the server is doing is nobody's business on the public port.
 */
export function metricsEndpoint({ metrics, token }: MetricsEndpointOptions) {
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`)
  const app = new Hono()
  app.get('/metrics', async (c) => {
    if (expected && !matches(expected, c.req.header('authorization'))) {
      return c.text('Unauthorized\n', 401, { 'www-authenticate': 'Bearer realm="metrics"' })
    }
    const { body, contentType } = await metrics.scrape()
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' })
  })
  app.notFound((c) => c.text('Not found: scrape /metrics\n', 404))
  return app
}

function matches(expected: Buffer, offered: string | undefined): boolean {
  const given = Buffer.from(offered ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
