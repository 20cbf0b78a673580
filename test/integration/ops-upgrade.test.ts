import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  RELEASES,
  tableWrittenByPreviousRelease,
  upgrade,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

/**
 * Rate limits and trace ids on a table the previous release wrote: they need no migration
 * step. Its tokens, which have no limit of their own, get the server's default (and mint within
 * it); its audit events, which have no trace id, verify beside new ones that do.
 */
describe('rate limits and traces on a table written by the previous release', () => {
  let kms: LocalKms
  let table: TestTable
  let data: PreviousReleaseData
  let stack: Stack

  beforeAll(async () => {
    ;({ kms, table, data } = await tableWrittenByPreviousRelease(RELEASES.first))
    await upgrade(table)
    stack = await startStack({
      kms,
      table,
      env: { KEYSTASH_RATE_LIMIT_TOKEN_RPS: '10', KEYSTASH_RATE_LIMIT_TOKEN_BURST: '20' },
    })
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await kms?.close()
  })

  it('limits the previous release’s tokens by the server default', async () => {
    const api = client(stack.app)
    const [admin] = data.tokens
    if (!admin) throw new Error('no token')
    const read = await api.get(`/v1/keys/${data.keys[0]?.name}/value`, admin.token)
    expect(read.status).toBe(200)
    expect(read.headers.get('ratelimit-policy')).toContain('"token";q=20;w=2')
    expect((await api.get(`/v1/tokens/${admin.id}`, data.session)).body.rateLimit).toBeNull()
    const mint = (rateLimit: object) =>
      api.post(
        '/v1/tokens',
        {
          name: 'upgraded',
          scopes: ['keys:read'],
          expiresIn: 600,
          environment: 'production',
          rateLimit,
        },
        admin.token,
      )
    expect((await mint({ rate: 10, burst: 20 })).status).toBe(201)
    expect((await mint({ rate: 11, burst: 20 })).body.code).toBe('scope_escalation')
  })

  it('verifies the old chain with traced events appended', async () => {
    const api = client(stack.app)
    const traceId = 'c0ffee'.padEnd(32, '0')
    const res = await stack.app.request(`/v1/keys/${data.keys[0]?.name}/value`, {
      headers: {
        authorization: `Bearer ${data.session}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    })
    expect(res.status).toBe(200)
    await stack.deps.audit.flush()
    const events = (await api.get('/v1/audit?limit=200', data.session)).body.items as Array<{
      traceId?: string | null
    }>
    expect(events.some((e) => e.traceId === traceId)).toBe(true)
    expect(events.some((e) => !e.traceId)).toBe(true)
    const verified = await api.get('/v1/audit/verify', data.session)
    expect(verified.body).toMatchObject({ ok: true, problems: [] })
  })
})
