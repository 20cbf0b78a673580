import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { KMSClient } from '@aws-sdk/client-kms'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts'
import { migrateTable } from '../../src/storage/migrations/index.ts'
import { createLocalDynamoClient } from '../dynamodb-local.ts'
import { warmDynamoDbReads } from './dynamodb-warmup.ts'
import type { BenchContext } from './scenario.ts'
import { type ServerProcess, startServerProcess } from './server-process.ts'

const entry = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
const REGION = 'us-east-1'
const PLATFORM_KEY = 'alias/keystash-platform'

/** What the bench seeded through the API, once per run, for every server it starts. */
export interface Seed {
  /** An access token: scope keys:read, environment production, one hour. */
  accessToken: string
  keyName: string
  /** The stored value, to check that a read really decrypted it. */
  value: string
}

export interface KeystashServer extends ServerProcess {
  seed: Seed
  kmsUrl: string
}

interface Shared {
  /** Production-mode settings pointing at the run's DynamoDB Local, table and local KMS. */
  env: Record<string, string>
  kmsUrl: string
  seed?: Promise<Seed>
}

// One table, platform key and seed per run, however many servers the scenarios start.
const sharedByRun = new WeakMap<BenchContext, Promise<Shared>>()

/**
 * Starts the real server (`src/main.ts`) in its own process, in production mode against the
 * bench's own DynamoDB Local and local KMS, so it spawns nothing itself. `env` adds settings
 * on top of the shared ones (audit off, warn-level logs).
 */
export async function startKeystash(
  context: BenchContext,
  env: Record<string, string> = {},
): Promise<KeystashServer> {
  let pending = sharedByRun.get(context)
  if (!pending) {
    pending = prepare(context)
    sharedByRun.set(context, pending)
  }
  const shared = await pending
  const server = await startServerProcess(entry, {
    env: { ...withoutKeystashSettings(context.env), ...shared.env, ...env },
    readyPath: '/healthz',
    nodeFlags: SERVER_NODE_FLAGS,
  })
  try {
    const ready = await fetch(`${server.url}/readyz`)
    if (!ready.ok) throw new Error(`Keystash is not ready: ${await ready.text()}`)
    shared.seed ??= seedThroughApi(server.url)
    return { ...server, seed: await shared.seed, kmsUrl: shared.kmsUrl }
  } catch (error) {
    await server.stop()
    throw error
  }
}

async function prepare(context: BenchContext): Promise<Shared> {
  const [dynamodbEndpoint, kms] = await Promise.all([context.dynamodbEndpoint(), context.kms()])
  const table = `keystash-bench-${randomUUID()}`
  const dynamodb = createLocalDynamoClient(dynamodbEndpoint)
  // The server's own credentials: the local KMS keeps keys per account and region.
  const kmsClient = new KMSClient({
    endpoint: kms.url,
    region: REGION,
    credentials: DEV_CREDENTIALS,
  })
  try {
    await migrateTable({
      dynamodb: dynamodb,
      doc: DynamoDBDocumentClient.from(dynamodb),
      table: table,
      log: () => {},
    })
    await ensurePlatformKey(kmsClient, PLATFORM_KEY)
    await warmDynamoDbReads(dynamodb, table, Math.max(10, context.warmupSeconds))
  } finally {
    dynamodb.destroy()
    kmsClient.destroy()
  }
  return {
    kmsUrl: kms.url,
    env: {
      KEYSTASH_TABLE: table,
      AWS_REGION: REGION,
      KEYSTASH_KMS_KEY_ID: PLATFORM_KEY,
      KEYSTASH_DYNAMODB_ENDPOINT: dynamodbEndpoint,
      KEYSTASH_KMS_ENDPOINT: kms.url,
      AWS_ACCESS_KEY_ID: DEV_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DEV_CREDENTIALS.secretAccessKey,
      // A log line per request would measure pino rather than Keystash.
      LOG_LEVEL: 'warn',
      KEYSTASH_AUDIT_MODE: 'off',
    },
  }
}

/**
 * The bench's environment minus anything that configures Keystash or AWS, so a setting left in
 * the shell cannot turn "default configuration" into something else.
 */
function withoutKeystashSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !/^(KEYSTASH_|AWS_(?!SDK_JS_))/.test(name) && !['LOG_LEVEL', 'PORT', 'HOST'].includes(name),
    ),
  )
}

/** A user and organization, one key and an access token that may read it, all through the API. */
async function seedThroughApi(url: string): Promise<Seed> {
  const call = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(url + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    })
    const answer = (await response.json()) as Record<string, unknown>
    // The problem's code only: a detail could echo what was sent.
    if (!response.ok)
      throw new Error(`seeding: POST ${path} answered ${response.status} ${answer.code}`)
    return answer
  }
  const signup = await call('/v1/auth/signup', {
    email: `bench-${randomUUID()}@example.com`,
    password: randomBytes(18).toString('base64url'),
    organization: 'Keystash bench',
  })
  const session = (signup.session as { token: string }).token
  const keyName = 'bench-openai'
  const value = `sk-bench-${randomBytes(36).toString('base64url')}`
  await call('/v1/keys', { name: keyName, value }, session)
  const minted = await call(
    '/v1/tokens',
    { name: 'bench-reader', scopes: ['keys:read'], expiresIn: 3600, environment: 'production' },
    session,
  )
  return { accessToken: minted.token as string, keyName, value }
}
