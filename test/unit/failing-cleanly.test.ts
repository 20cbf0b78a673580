import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { createAwsClients } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { buildDeps } from '../../src/deps.ts'
import { createOutageLog } from '../../src/outage-log.ts'
import { storageOutage } from '../../src/storage/unavailable.ts'
import { captureLogs } from '../support/log-capture.ts'

describe('a client that aborts mid-body', () => {
  it('gets 400 bad_request and is not logged as an error', async () => {
    const logs = captureLogs()
    const config = loadConfig({})
    const app = createApp(buildDeps(config, logs.logger, createAwsClients(config)))
    app.routes.post('/echo', async (c) => c.json(await c.req.json()))
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"value":"half a'))
        controller.error(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
      },
    })
    const res = await app.request('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('bad_request')
    expect(logs.lines().filter((line) => line.level === 'error')).toEqual([])
  })
})

describe('storageOutage', () => {
  const sdkError = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields)

  it('maps unanswered calls, server faults and throttling to storage_unavailable', () => {
    for (const error of [
      sdkError({ code: 'ECONNREFUSED', $metadata: {} }),
      sdkError({ name: 'TimeoutError' }),
      sdkError({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }),
      sdkError({
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      }),
    ]) {
      const outage = storageOutage(error)
      expect(outage?.code).toBe('storage_unavailable')
      expect(outage?.headers['Retry-After']).toBe('2')
    }
  })

  it('leaves answers and programming errors alone', () => {
    expect(
      storageOutage(
        sdkError({ name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBeUndefined()
    expect(
      storageOutage(sdkError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })),
    ).toBeUndefined()
    expect(storageOutage(new TypeError('Cannot read properties of undefined'))).toBeUndefined()
  })
})

describe('createOutageLog', () => {
  it('logs once down and once back, with the count of failures between', () => {
    const logs = captureLogs()
    let now = 1_000
    const log = createOutageLog({
      dependency: 'storage',
      logger: logs.logger,
      clock: { now: () => now },
    })
    log.served()
    for (let i = 0; i < 500; i++) log.failed()
    now += 2_500
    log.served()
    log.served()
    expect(logs.lines().map((l) => [l.level, l.msg, l.failures, l.downForMs])).toEqual([
      ['error', 'storage unavailable: answering 503 until it is back', undefined, undefined],
      ['info', 'storage available again', 500, 2_500],
    ])
  })
})
