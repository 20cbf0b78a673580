import { OpenAPIHono } from '@hono/zod-openapi'
import { describe, expect, it } from 'vitest'
import type { AuditLog } from '../../src/audit/service.ts'
import type { Principal } from '../../src/auth/principal.ts'
import type { AppEnv } from '../../src/http/env.ts'
import { requestContext } from '../../src/http/middleware/request-context.ts'
import { auditRoutes } from '../../src/http/routes/audit.ts'
import { captureLogs } from '../support/log-capture.ts'

const principal = { kind: 'session', tokenId: 'tok_1', tenantId: 'org_1', scopes: ['audit:read'] }
const authenticator = {
  authenticate: async () => ({ principal: principal as Principal, prefetched: undefined }),
}

/** The export route over a fake audit log whose pages are produced by `pages`. */
function appWith(pages: () => AsyncGenerator<Array<Record<string, unknown>>>) {
  const logs = captureLogs()
  const auditLog = { exportEvents: async () => pages() } as unknown as AuditLog
  const app = new OpenAPIHono<AppEnv>()
  app.use(requestContext({ logger: logs.logger }))
  app.route('/', auditRoutes({ auditLog, authenticator: authenticator as never }))
  const get = () => app.request('/v1/audit/export', { headers: { authorization: 'Bearer a.b.c' } })
  return { get, logs }
}

describe('GET /v1/audit/export streaming', () => {
  it('reads a page only when the client has taken the previous one', async () => {
    let produced = 0
    const { get } = appWith(async function* () {
      for (let page = 0; page < 1000; page++) {
        produced++
        yield [{ page }]
      }
    })
    const res = await get()
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    // A buffered implementation would have read all 1000 pages by now.
    expect(produced).toBeLessThan(5)
    await reader.cancel()
  })

  it('cuts the response when storage fails midway, so it cannot pass for complete', async () => {
    const { get, logs } = appWith(async function* () {
      yield [{ n: 1 }]
      throw Object.assign(new Error('connection reset'), { name: 'TimeoutError' })
    })
    const res = await get()
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    expect(logs.text()).toContain('audit export failed midway')
  })
})
