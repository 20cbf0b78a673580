import { KMSClient } from '@aws-sdk/client-kms'
import { createApp } from '../../src/app.ts'
import { type AwsClients, DEV_CREDENTIALS } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { buildDeps } from '../../src/deps.ts'
import type { ResolveTxt } from '../../src/domain/sso-settings.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import type { Clock } from '../../src/lib/clock.ts'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createTestTable, type TestTable } from './dynamo.ts'
import { captureLogs } from './log-capture.ts'

export interface Stack {
  app: ReturnType<typeof createApp>
  deps: ReturnType<typeof buildDeps>
  kms: LocalKms
  table: TestTable
  aws: AwsClients
  logs: ReturnType<typeof captureLogs>
  /** Another app instance on the same table and KMS (for cross-instance behaviour). */
  another(env?: Record<string, string>): ReturnType<typeof createApp>
  /** The same, with its services (its job runner is stopped by `close`). */
  anotherInstance(env?: Record<string, string>): {
    app: ReturnType<typeof createApp>
    deps: ReturnType<typeof buildDeps>
  }
  close(): Promise<void>
}

/**
 * The real application on real local services: a fresh table in the run's DynamoDB Local and
 * an in-process local KMS spoken to through the real AWS SDK. Only the HTTP socket is skipped
 * (`app.request()`).
 */
export async function startStack(
  options: {
    env?: Record<string, string>
    clock?: Clock
    kms?: LocalKms
    table?: TestTable
    /** The DNS TXT lookups of domain verification (a stub: tests own no zone). */
    resolveTxt?: ResolveTxt
  } = {},
): Promise<Stack> {
  // A table given by the caller (one an earlier release wrote, say) is used as it is.
  const table = options.table ?? (await createTestTable())
  const kms = options.kms ?? (await startLocalKms())
  const logs = captureLogs('debug')
  const build = (env: Record<string, string> = {}) => {
    const config = loadConfig({
      KEYSTASH_DYNAMODB_ENDPOINT: table.endpoint,
      KEYSTASH_KMS_ENDPOINT: kms.url,
      KEYSTASH_STS_ENDPOINT: kms.url,
      KEYSTASH_TABLE: table.tableName,
      AWS_REGION: 'us-east-1',
      KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
      // On the request thread, so that tests can inject faults into its SDK client and do not
      // start a thread per stack; audit-thread.test.ts covers the thread.
      KEYSTASH_AUDIT_WRITER: 'inline',
      // Tests that drive load (re-encryption under reads, concurrent writers) would meet the
      // default rate limits on a fast machine and not on a slow one; the rate-limit, metrics
      // and upgrade tests set the limits they test.
      KEYSTASH_RATE_LIMIT_TOKEN_RPS: '0',
      KEYSTASH_RATE_LIMIT_ORG_RPS: '0',
      ...options.env,
      ...env,
    })
    const aws: AwsClients = {
      dynamodb: table.client,
      doc: table.doc,
      kms: new KMSClient({ region: 'us-east-1', endpoint: kms.url, credentials: DEV_CREDENTIALS }),
    }
    const deps = buildDeps(config, logs.logger, aws, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.resolveTxt ? { resolveTxt: options.resolveTxt } : {}),
    })
    instances.push(deps)
    return { app: createApp(deps), deps, aws }
  }
  const instances: ReturnType<typeof buildDeps>[] = []
  const first = build()
  await ensurePlatformKey(first.aws.kms, 'alias/keystash-platform')
  return {
    ...first,
    kms,
    table,
    logs,
    another: (env) => build(env).app,
    anotherInstance: (env) => build(env),
    close: async () => {
      for (const deps of instances) {
        await deps.reencryption.stop()
        await deps.reminders.stop()
        await deps.outbox.stop()
      }
      await first.deps.lastUsed.settled()
      if (!options.kms) await kms.close()
    },
  }
}

/** JSON request helpers for `app.request()`. */
export function client(app: {
  request: (path: string, init?: RequestInit) => Response | Promise<Response>
}) {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = {}
    if (token) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await app.request(path, {
      method,
      headers,
      ...(body !== undefined
        ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    })
    const text = await res.text()
    // Tests read response bodies freely; the API's own schemas are tested elsewhere.
    let json: any
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = text
    }
    return { status: res.status, headers: res.headers, body: json }
  }
  return {
    get: (path: string, token?: string) => call('GET', path, token),
    post: (path: string, body: unknown, token?: string) => call('POST', path, token, body),
    put: (path: string, body: unknown, token?: string) => call('PUT', path, token, body),
    patch: (path: string, body: unknown, token?: string) => call('PATCH', path, token, body),
    delete: (path: string, token?: string) => call('DELETE', path, token),
  }
}

/** Mints access tokens with a session: production, for an hour, unless `body` says otherwise. */
export function tokenMinter(api: ReturnType<typeof client>, session: string) {
  return async (body: object): Promise<string> =>
    (
      await api.post(
        '/v1/tokens',
        { name: 'app', expiresIn: 3600, environment: 'production', ...body },
        session,
      )
    ).body.token as string
}

let counter = 0
/** Signs up a new user and organization; returns the session token and ids. */
export async function signup(
  api: ReturnType<typeof client>,
  email = `user${++counter}-${Date.now()}@example.com`,
) {
  const res = await api.post('/v1/auth/signup', { email, password: 'correct horse battery staple' })
  if (res.status !== 201)
    throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`)
  return {
    email,
    password: 'correct horse battery staple',
    session: res.body.session.token as string,
    tenantId: res.body.organization.id as string,
    userId: res.body.user.id as string,
  }
}
