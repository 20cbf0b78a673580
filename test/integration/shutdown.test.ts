import { fileURLToPath } from 'node:url'
import { KMSClient } from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createTestTable, type TestTable } from '../support/dynamo.ts'
import { type SpawnedServer, spawnServer } from '../support/spawned-server.ts'

/**
 * SIGTERM while clients keep writing on keep-alive connections: the real server process on the
 * run's DynamoDB Local and a local KMS, driven over real sockets.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLIENTS = 4
const GRACE_SECONDS = 10

let table: TestTable
let kms: LocalKms
let env: Record<string, string>
const servers: SpawnedServer[] = []

beforeAll(async () => {
  table = await createTestTable()
  kms = await startLocalKms()
  const kmsClient = new KMSClient({
    region: 'us-east-1',
    endpoint: kms.url,
    credentials: DEV_CREDENTIALS,
  })
  await ensurePlatformKey(kmsClient, 'alias/keystash-platform')
  env = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    KEYSTASH_TABLE: table.tableName,
    AWS_REGION: 'us-east-1',
    KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
    KEYSTASH_DYNAMODB_ENDPOINT: table.endpoint,
    KEYSTASH_KMS_ENDPOINT: kms.url,
    AWS_ACCESS_KEY_ID: DEV_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEV_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  }
})
afterAll(async () => {
  for (const server of servers) server.kill('SIGKILL')
  await kms?.close()
})

const start = async (extra: Record<string, string> = {}) => {
  const server = await spawnServer(['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...env, ...extra },
  })
  servers.push(server)
  return server
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

describe('SIGTERM under keep-alive write load', () => {
  it('stops within the grace, keeps every acknowledged write and anchors every audit chain', {
    // Two server starts and a few hundred requests: minutes when many test runs share two cores.
    timeout: 300_000,
  }, async () => {
    const first = await start({ KEYSTASH_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS) })
    const signup = await call(first.url, 'POST', '/v1/auth/signup', undefined, {
      email: 'shutdown@example.com',
      password: 'correct horse battery staple',
    })
    expect(signup.status).toBe(201)
    const session = signup.body.session.token as string
    for (let i = 0; i < CLIENTS; i++) {
      const created = await call(first.url, 'POST', '/v1/keys', session, {
        name: `k${i}`,
        value: `v-${i}-1`,
      })
      expect(created.status).toBe(201)
    }

    // Each client writes new versions back to back on its own keep-alive connection until the
    // server is gone (or a generous deadline passes, which the assertions below then catch).
    const acknowledged: Array<{ key: string; version: number; value: string }> = []
    let exited = false
    void first.exited.then(() => {
      exited = true
    })
    const loadEnds = Date.now() + 45_000
    let sent = 0
    const refused: Array<[number, string | undefined]> = []
    let warmedUp = () => {}
    const warm = new Promise<void>((resolve) => {
      warmedUp = resolve
    })
    const clients = Array.from({ length: CLIENTS }, async (_, i) => {
      for (let n = 0; !exited && Date.now() < loadEnds; n++) {
        const value = `v-${i}-w${n}`
        sent++
        let res: Awaited<ReturnType<typeof call>>
        try {
          res = await call(first.url, 'PUT', `/v1/keys/k${i}/value`, session, { value })
        } catch {
          // Refused or reset once the server stops accepting: the client would go elsewhere.
          continue
        }
        if (res.status === 200) {
          acknowledged.push({ key: `k${i}`, version: res.body.currentVersion, value })
          if (acknowledged.length === CLIENTS * 3) warmedUp()
        } else refused.push([res.status, res.body?.code])
      }
    })
    // Let the load run until writes flow on every connection.
    await warm

    const signalled = Date.now()
    first.kill('SIGTERM')
    const code = await first.exited
    const stoppedIn = Date.now() - signalled
    await Promise.all(clients)

    expect(code).toBe(0)
    // No drain delay: gone within the grace (plus the audit flush and exit), not when the load
    // stops (it would go on for 45 s). Unloaded, it takes under two seconds.
    expect(stoppedIn).toBeLessThan(GRACE_SECONDS * 1000 + 5_000)
    expect(first.output()).toContain('"msg":"stopped"')
    expect(sent).toBeGreaterThan(acknowledged.length)
    // A write that reached the server after it stopped accepting was told so, not dropped.
    for (const answer of refused) expect(answer).toEqual([503, 'shutting_down'])

    // After a restart every acknowledged write reads back, and no audit event is left unanchored.
    const second = await start()
    for (const { key, version, value } of acknowledged) {
      const read = await call(
        second.url,
        'GET',
        `/v1/keys/${key}/value?version=${version}`,
        session,
      )
      expect([read.status, read.body.value]).toEqual([200, value])
    }
    const verify = await call(second.url, 'GET', '/v1/audit/verify', session)
    expect(verify.status).toBe(200)
    expect(verify.body.ok).toBe(true)
    const writes = verify.body.chains.reduce((n: number, c: { events: number }) => n + c.events, 0)
    expect(writes).toBeGreaterThanOrEqual(acknowledged.length)
    for (const chain of verify.body.chains) expect(chain.unanchored).toBe(0)
    second.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  })

  it('fails readiness at once and serves until the drain delay ends', {
    timeout: 120_000,
  }, async () => {
    const server = await start({ KEYSTASH_SHUTDOWN_DRAIN_SECONDS: '2' })
    expect((await call(server.url, 'GET', '/readyz')).status).toBe(200)
    server.kill('SIGTERM')
    // Readiness flips on the signal; poll until the process has handled it.
    let ready = await call(server.url, 'GET', '/readyz')
    while (ready.status === 200) ready = await call(server.url, 'GET', '/readyz')
    expect([ready.status, ready.body.status]).toEqual([503, 'stopping'])
    // Still serving during the drain.
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200)
    expect(await server.exited).toBe(0)
  })
})
