import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricsEndpoint } from '../../src/http/metrics-endpoint.ts'
import { valueReadEntrance } from '../../src/reads/entrance.ts'
import { createValueRead } from '../../src/reads/value-read.ts'
import { scrape } from '../support/scrape.ts'
import { client, type Stack, signup, startStack, tokenMinter } from '../support/stack.ts'

/**
 * The Prometheus endpoint, scraped and parsed as Prometheus would: the counters and
 * histograms move with reads (both read paths), KMS calls, cache hits and refusals, and no
 * label ever names a tenant, a key or a token.
 */

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  // Metrics are collected when they are served; the stack opens no port itself.
  stack = await startStack({ env: { KEYSTASH_METRICS_PORT: '0' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

const VALUE = { method: 'GET', route: '/v1/keys/{ref}/value', status_class: '2xx' }

describe('metrics', () => {
  it('count value reads on both paths, KMS calls, cache hits and DynamoDB calls', async () => {
    const owner = await signup(api)
    const mint = tokenMinter(api, owner.session)
    await api.post('/v1/keys', { name: 'metrics-canary-key', value: 'sk-metrics-1' }, owner.session)
    const reader = await mint({ scopes: ['keys:read'] })
    const read = () => api.get('/v1/keys/metrics-canary-key/value', reader)

    // A cold data key: the first read must unwrap it with KMS Decrypt.
    stack.deps.dekCache.clear()
    const before = await scrape(stack.deps.metrics)
    expect((await read()).status).toBe(200)
    const cold = await scrape(stack.deps.metrics)
    expect(cold.value('keystash_kms_requests_total', { operation: 'Decrypt', outcome: 'ok' })).toBe(
      before.value('keystash_kms_requests_total', { operation: 'Decrypt', outcome: 'ok' }) + 1,
    )
    expect(cold.count('keystash_kms_request_duration_seconds', { operation: 'Decrypt' })).toBe(
      before.count('keystash_kms_request_duration_seconds', { operation: 'Decrypt' }) + 1,
    )
    expect(cold.value('keystash_dek_cache_misses_total')).toBe(
      before.value('keystash_dek_cache_misses_total') + 1,
    )
    expect(
      cold.value('keystash_dynamodb_requests_total', { operation: 'BatchGetItem', outcome: 'ok' }),
    ).toBeGreaterThan(0)
    expect(
      cold.count('keystash_dynamodb_request_duration_seconds', { operation: 'PutItem' }),
    ).toBeGreaterThan(0)

    // Reads answered by the early entrance count as well.
    for (let i = 0; i < 5; i++) expect((await read()).status).toBe(200)
    const warm = await scrape(stack.deps.metrics)
    expect(warm.value('keystash_http_requests_total', VALUE)).toBe(
      cold.value('keystash_http_requests_total', VALUE) + 5,
    )
    expect(warm.count('keystash_http_request_duration_seconds', VALUE)).toBe(
      cold.count('keystash_http_request_duration_seconds', VALUE) + 5,
    )
    expect(warm.value('keystash_dek_cache_hits_total')).toBeGreaterThanOrEqual(
      cold.value('keystash_dek_cache_hits_total') + 5,
    )
    expect(warm.value('keystash_record_cache_hits_total', { cache: 'key' })).toBeGreaterThan(
      cold.value('keystash_record_cache_hits_total', { cache: 'key' }),
    )
    expect(warm.value('keystash_dek_cache_entries')).toBeGreaterThan(0)

    // The early entrance on its own (as the app's fetch calls it before Hono): it answers
    // and counts.
    const fast = valueReadEntrance({
      read: createValueRead(stack.deps),
      logger: stack.deps.logger,
      ...(stack.deps.metrics ? { metrics: stack.deps.metrics.http.valueRead } : {}),
    })
    let answered = 0
    for (let i = 0; i < 3; i++) {
      const res = await read() // keeps the caches warm whatever the machine's pace
      expect(res.status).toBe(200)
      const request = new Request('http://localhost/v1/keys/metrics-canary-key/value', {
        headers: { authorization: `Bearer ${reader}` },
      })
      if (fast(request, undefined) instanceof Response) answered++
    }
    expect(answered).toBeGreaterThan(0)
    expect((await scrape(stack.deps.metrics)).value('keystash_http_requests_total', VALUE)).toBe(
      warm.value('keystash_http_requests_total', VALUE) + 3 + answered,
    )
    // Routes are named by template (a refusal by middleware too), other statuses by class,
    // unknown paths as unmatched.
    await api.get('/v1/keys/no-such-key', reader)
    await api.get('/v1/tokens/tok_nobody')
    await api.get('/nowhere/at/all')
    const after = await scrape(stack.deps.metrics)
    expect(
      after.value('keystash_http_requests_total', {
        method: 'GET',
        route: '/v1/keys/{ref}',
        status_class: '4xx',
      }),
    ).toBeGreaterThan(0)
    expect(
      after.value('keystash_http_requests_total', {
        method: 'GET',
        route: '/v1/tokens/{id}',
        status_class: '4xx',
      }),
    ).toBeGreaterThan(0)
    expect(
      after.value('keystash_http_requests_total', { route: 'unmatched', status_class: '4xx' }),
    ).toBeGreaterThan(0)
    // Process metrics come with the rest.
    expect(after.families.some((f) => f.name === 'process_cpu_user_seconds_total')).toBe(true)
  })

  it('count rate-limit refusals', async () => {
    const owner = await signup(api)
    await api.post('/v1/keys', { name: 'limited', value: 'sk-metrics-2' }, owner.session)
    const limited = await tokenMinter(
      api,
      owner.session,
    )({
      scopes: ['keys:read'],
      rateLimit: { rate: 0.01, burst: 2 },
    })
    const before = await scrape(stack.deps.metrics)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++)
      statuses.push((await api.get('/v1/keys/limited/value', limited)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    const after = await scrape(stack.deps.metrics)
    expect(after.value('keystash_rate_limit_refusals_total', { limit: 'token' })).toBe(
      before.value('keystash_rate_limit_refusals_total', { limit: 'token' }) + 2,
    )
    expect(
      after.value('keystash_http_requests_total', { ...VALUE, status_class: '4xx' }),
    ).toBeGreaterThanOrEqual(2)
  })

  it('never use a tenant id, key id or name, or token id as a label value', async () => {
    const owner = await signup(api)
    const mint = tokenMinter(api, owner.session)
    const key = (
      await api.post(
        '/v1/keys',
        { name: 'label-canary-name', value: 'sk-label-canary' },
        owner.session,
      )
    ).body
    const created = await api.post(
      '/v1/tokens',
      {
        name: 'label-canary-token',
        scopes: ['keys:read'],
        expiresIn: 600,
        rateLimit: { rate: 0.01, burst: 1 },
      },
      owner.session,
    )
    await mint({ scopes: ['keys:read'] })
    for (let i = 0; i < 3; i++) {
      await api.get(`/v1/keys/${key.id}/value`, created.body.token)
      await api.get('/v1/keys/label-canary-name/value', created.body.token)
    }
    await api.get(`/v1/tokens/${created.body.id}`, owner.session)
    const labels = (await scrape(stack.deps.metrics)).labelValues()
    expect(labels.length).toBeGreaterThan(50)
    const secrets = [
      owner.tenantId,
      owner.userId,
      key.id,
      'label-canary-name',
      created.body.id,
      'label-canary-token',
      'sk-label-canary',
    ]
    for (const secret of secrets) {
      expect(
        labels.filter((label) => label.includes(secret)),
        secret,
      ).toEqual([])
    }
    for (const label of labels) expect(label).not.toMatch(/(org|tok|key|usr)_[0-9a-z]{6,}/)
  })

  it('asks for its own bearer token when one is configured', async () => {
    const token = 'metrics-scrape-token-0123456789abcdef'
    const metrics = stack.deps.metrics
    if (!metrics) throw new Error('metrics are off')
    const endpoint = metricsEndpoint({ metrics, token })
    expect((await endpoint.request('/metrics')).status).toBe(401)
    const wrong = await endpoint.request('/metrics', {
      headers: { authorization: `Bearer ${token}x` },
    })
    expect(wrong.status).toBe(401)
    const right = await endpoint.request('/metrics', {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(right.status).toBe(200)
    expect(right.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    // The API's own port serves no metrics.
    expect((await stack.app.request('/metrics')).status).toBe(404)
  })
})

describe('metrics off', () => {
  it('collect nothing when no metrics port is configured (the production default)', async () => {
    const off = stack.anotherInstance({ KEYSTASH_METRICS_PORT: 'off' })
    expect(off.deps.metrics).toBeUndefined()
    const res = await off.app.request('/v1/keys/x/value')
    expect(res.status).toBe(401)
  })
})
