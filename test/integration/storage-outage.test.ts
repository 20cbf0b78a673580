import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KMSClient } from '@aws-sdk/client-kms'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { buildDeps } from '../../src/deps.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import { ensureTable } from '../../src/storage/table.ts'
import {
  createLocalDynamoClient,
  type DynamoDbLocal,
  startDynamoDbLocal,
} from '../../tools/dynamodb-local.ts'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { captureLogs } from '../support/log-capture.ts'
import { client, signup, tokenMinter } from '../support/stack.ts'

/**
 * DynamoDB Local killed while requests keep coming, then started again on the same port and
 * data: a DynamoDB Local of this test's own, since the run's shared one serves other files.
 */
let dir: string
let dynamo: DynamoDbLocal
let kms: LocalKms
const TABLE = 'keystash-outage'
// The JVM starts in seconds, unless two cores are shared by many test runs.
const READY_MS = 120_000

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystash-outage-'))
  dynamo = await startDynamoDbLocal({ dbPath: dir, readyTimeoutMs: READY_MS })
  kms = await startLocalKms()
}, READY_MS + 30_000)
afterAll(async () => {
  await dynamo?.stop()
  await kms?.close()
  await rm(dir, { recursive: true, force: true })
})

function build() {
  const logs = captureLogs('info')
  const config = loadConfig({
    KEYSTASH_DYNAMODB_ENDPOINT: dynamo.endpoint,
    KEYSTASH_KMS_ENDPOINT: kms.url,
    KEYSTASH_TABLE: TABLE,
    AWS_REGION: 'us-east-1',
    KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
    KEYSTASH_AUDIT_WRITER: 'inline',
    // Every request reads the table: nothing is answered from memory while it is down.
    KEYSTASH_RECORD_CACHE_MS: '0',
  })
  const dynamodb = createLocalDynamoClient(dynamo.endpoint)
  const aws = {
    dynamodb,
    doc: DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    kms: new KMSClient({ region: 'us-east-1', endpoint: kms.url, credentials: DEV_CREDENTIALS }),
  }
  const deps = buildDeps(config, logs.logger, aws)
  return { app: createApp(deps), deps, aws, logs }
}

const ACCESS_LINES = new Set(['request', 'request failed'])

describe('a DynamoDB outage under load', () => {
  it('answers 503 storage_unavailable, logs the outage once each way, and recovers by itself', {
    timeout: 240_000,
  }, async () => {
    const { app, deps, aws, logs } = build()
    await ensureTable(aws.dynamodb, TABLE)
    await ensurePlatformKey(aws.kms, 'alias/keystash-platform')
    const api = client(app)
    const owner = await signup(api)
    expect(
      (await api.post('/v1/keys', { name: 'k', value: 'before-outage' }, owner.session)).status,
    ).toBe(201)
    const reader = await tokenMinter(api, owner.session)({ scopes: ['keys:read'] })

    // Readers and writers keep going until told to stop; every answer is kept.
    const answers: Array<{ status: number; code?: string; retryAfter: string | null }> = []
    let running = true
    const worker = async (n: number) => {
      for (let i = 0; running; i++) {
        const res =
          n % 2 === 0
            ? await api.get('/v1/keys/k/value', reader)
            : await api.put('/v1/keys/k/value', { value: `w-${n}-${i}` }, owner.session)
        answers.push({
          status: res.status,
          code: res.body?.code,
          retryAfter: res.headers.get('retry-after'),
        })
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const workers = Array.from({ length: 6 }, (_, n) => worker(n))
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await until(() => answers.filter((a) => a.status < 300).length >= 20)

    const port = dynamo.port
    process.kill(dynamo.pid, 'SIGKILL')
    await dynamo.exited
    const killedAt = answers.length
    await until(() => answers.slice(killedAt).filter((a) => a.status === 503).length >= 30)

    dynamo = await startDynamoDbLocal({ port, dbPath: dir, readyTimeoutMs: READY_MS })
    const restartedAt = answers.length
    await until(() => answers.slice(restartedAt).filter((a) => a.status < 300).length >= 10)
    running = false
    await Promise.all(workers)

    const failures = answers.filter((a) => a.status >= 300)
    expect(failures.length).toBeGreaterThanOrEqual(30)
    for (const failure of failures) {
      expect(failure).toEqual({ status: 503, code: 'storage_unavailable', retryAfter: '2' })
    }

    const lines = logs.lines().filter((line) => !ACCESS_LINES.has(line.msg as string))
    expect(lines.filter((line) => line.msg === 'unhandled error')).toEqual([])
    const down = lines.filter(
      (line) => line.msg === 'storage unavailable: answering 503 until it is back',
    )
    const back = lines.filter((line) => line.msg === 'storage available again')
    expect(down).toHaveLength(1)
    expect(down[0]?.level).toBe('error')
    expect(back).toHaveLength(1)
    expect(back[0]?.failures).toBeGreaterThanOrEqual(30)
    // Nothing else is logged per failed request; the audit writer logs its own retries, which
    // back off in time whatever the load.
    const others = lines.filter((line) => !down.includes(line) && !back.includes(line))
    expect(others.filter((line) => line.component !== 'audit')).toEqual([])

    // The value written last before the outage or after it reads back: nothing was lost.
    const read = await api.get('/v1/keys/k/value', reader)
    expect(read.status).toBe(200)
    await deps.reencryption.stop()
  })
})
