import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { KMSClient } from '@aws-sdk/client-kms'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import { migrateTable, migrations } from '../../src/storage/migrations/index.ts'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createTestTable, type TestTable } from './dynamo.ts'
import { type SpawnedServer, spawnServer } from './spawned-server.ts'

const run = promisify(execFile)

/** A release that wrote tables `npm run migrate` must upgrade, and the steps its tables had. */
export interface Release {
  commit: string
  /** The migration steps that release applied (recorded in its tables). */
  steps: readonly string[]
}

/**
 * Releases whose tables the current code upgrades. Their HTTP API is what the population below
 * speaks, so they need no change when the current code moves on.
 * - `first`: no backfill had run yet; the upgrade tests of each backfill start from it.
 * - `previous`: the release before this one, with every step it knew applied; the tables
 *   running deployments have today.
 */
export const RELEASES = {
  first: { commit: '90998d6c9789e4bf757715e02fca77d530a97ca6', steps: ['001-table'] },
  previous: {
    commit: '320e4a09507caca4ffe6d4c57769fd9ef8dce59e',
    steps: ['001-table', '002-token-ancestors', '003-rekey-schedules', '004-due-dates'],
  },
} as const satisfies Record<string, Release>

const repoRoot = resolve(import.meta.dirname, '../..')

/**
 * The previous release's source tree, extracted from git once per machine (into the system's
 * temporary folder) and run with this checkout's `node_modules`.
 */
export async function previousReleaseTree(
  commit: string = RELEASES.previous.commit,
): Promise<string> {
  const dir = join(tmpdir(), `keystash-release-${commit.slice(0, 12)}`)
  if (existsSync(join(dir, '.complete'))) return dir
  // Extract beside it and rename, so two test files asking at once never see half a tree.
  const staging = `${dir}.${process.pid}.${Date.now()}`
  await mkdir(staging, { recursive: true })
  const archive = join(staging, 'release.tar')
  await run('git', ['-C', repoRoot, 'archive', '--format=tar', '-o', archive, commit])
  await run('tar', ['-xf', archive, '-C', staging])
  await rm(archive)
  await symlink(join(repoRoot, 'node_modules'), join(staging, 'node_modules'))
  await writeFile(join(staging, '.complete'), commit)
  try {
    await rename(staging, dir)
  } catch (error) {
    // Another process finished first: its tree is as good as ours.
    await rm(staging, { recursive: true, force: true })
    if (!existsSync(join(dir, '.complete'))) throw error
  }
  return dir
}

/**
 * Starts the previous release's server in production mode on `table` and the local KMS at
 * `kmsUrl` (whose platform key must exist), on a free port. Stop it with `kill('SIGTERM')` and
 * await `exited`.
 */
export async function startPreviousRelease(
  table: Pick<TestTable, 'endpoint' | 'tableName'>,
  kmsUrl: string,
  env: Record<string, string> = {},
  release: Release = RELEASES.previous,
): Promise<SpawnedServer> {
  const cwd = await previousReleaseTree(release.commit)
  return spawnServer(['--import', 'tsx', 'src/main.ts'], {
    cwd,
    env: {
      HOME: cwd,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      KEYSTASH_TABLE: table.tableName,
      AWS_REGION: 'us-east-1',
      KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
      KEYSTASH_DYNAMODB_ENDPOINT: table.endpoint,
      KEYSTASH_KMS_ENDPOINT: kmsUrl,
      KEYSTASH_STS_ENDPOINT: kmsUrl,
      AWS_ACCESS_KEY_ID: DEV_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DEV_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Strict audit: every event is in the table when the request answers.
      KEYSTASH_AUDIT_MODE: 'strict',
      ...env,
    },
  })
}

/** What `populatePreviousRelease` stored, so a test can check it survived the upgrade. */
export interface PreviousReleaseData {
  email: string
  password: string
  tenantId: string
  session: string
  /** Each key's name and its values, oldest version first. */
  keys: Array<{ id: string; name: string; provider: string; values: string[] }>
  /** Access tokens minted by the session, with what they were minted with. */
  tokens: Array<{ id: string; token: string; body: Record<string, unknown> }>
  /** A token minted by `tokens[0]` (a child), and one that was revoked. */
  childToken: { id: string; token: string }
  revokedToken: { id: string; token: string }
}

/**
 * A typical organization, written through the previous release's HTTP API: a user and their
 * organization, keys with several versions, access tokens of each environment (one restricted
 * to keys, one minted by another token, one revoked), and the audit events all that wrote.
 */
export async function populatePreviousRelease(url: string): Promise<PreviousReleaseData> {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return text ? JSON.parse(text) : undefined
  }
  const email = `release-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`
  const password = 'correct horse battery staple'
  const signup = await call('POST', '/v1/auth/signup', undefined, { email, password })
  const session = signup.session.token as string
  const keys: PreviousReleaseData['keys'] = []
  for (const [name, provider, values] of [
    ['openai', 'openai', ['sk-proj-release-one', 'sk-proj-release-two']],
    ['stripe-live', 'stripe-secret', ['sk_live_release_one']],
    ['twilio', 'twilio-auth-token', ['release-twilio-1', 'release-twilio-2', 'release-twilio-3']],
  ] as const) {
    const created = await call('POST', '/v1/keys', session, { name, provider, value: values[0] })
    for (const value of values.slice(1)) {
      await call('PUT', `/v1/keys/${name}/value`, session, { value })
    }
    keys.push({ id: created.id, name, provider, values: [...values] })
  }
  const mint = async (token: string, body: Record<string, unknown>) => {
    const minted = await call('POST', '/v1/tokens', token, { expiresIn: 86_400, ...body })
    return { id: minted.id as string, token: minted.token as string, body }
  }
  const tokens = [
    await mint(session, {
      name: 'admin',
      scopes: ['keys:read', 'keys:list', 'keys:write', 'tokens:write', 'audit:read', 'org:admin'],
      environment: 'production',
    }),
    await mint(session, {
      name: 'billing',
      scopes: ['keys:read'],
      keys: ['openai', 'stripe-*'],
      environment: 'production',
    }),
    await mint(session, { name: 'laptop', scopes: ['keys:read'], environment: 'development' }),
  ]
  const admin = tokens[0]
  if (!admin) throw new Error('no admin token')
  const childToken = await mint(admin.token, {
    name: 'child',
    expiresIn: 3600,
    scopes: ['keys:read'],
    environment: 'production',
  })
  const revokedToken = await mint(session, { name: 'old', scopes: ['keys:read'] })
  await call('DELETE', `/v1/tokens/${revokedToken.id}`, session)
  // Reads write last-used times and audit events, as a running deployment's table has.
  await call('GET', '/v1/keys/openai/value', admin.token)
  await call('GET', '/v1/keys/openai/value', childToken.token)
  return {
    email,
    password,
    tenantId: signup.organization.id,
    session,
    keys,
    tokens,
    childToken: { id: childToken.id, token: childToken.token },
    revokedToken: { id: revokedToken.id, token: revokedToken.token },
  }
}

/**
 * A table as an operator has it before upgrading: created with only the steps `release` knew,
 * then written by that release's own server (`populatePreviousRelease`), with a local KMS
 * holding its platform key. Then run `migrateTable` (or `npm run migrate`) on it.
 */
export async function tableWrittenByPreviousRelease(release: Release = RELEASES.previous): Promise<{
  kms: LocalKms
  table: TestTable
  data: PreviousReleaseData
}> {
  const kms = await startLocalKms()
  const table = await createTestTable({
    steps: migrations.filter((step) => step.always || release.steps.includes(step.id)),
  })
  await ensurePlatformKey(
    new KMSClient({ region: 'us-east-1', endpoint: kms.url, credentials: DEV_CREDENTIALS }),
    'alias/keystash-platform',
  )
  const previous = await startPreviousRelease(table, kms.url, {}, release)
  try {
    return { kms, table, data: await populatePreviousRelease(previous.url) }
  } finally {
    previous.kill('SIGTERM')
    await previous.exited
  }
}

/** `migrateTable` on a test table, as `npm run migrate` runs it. */
export const upgrade = (table: TestTable) =>
  migrateTable({ dynamodb: table.client, doc: table.doc, table: table.tableName, log: () => {} })
