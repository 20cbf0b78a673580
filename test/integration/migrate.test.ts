import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { type Migration, migrateTable, migrations } from '../../src/storage/migrations/index.ts'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  RELEASES,
  tableWrittenByPreviousRelease,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

const run = promisify(execFile)
const repoRoot = resolve(import.meta.dirname, '../..')

/**
 * `npm run migrate` on a table the previous release wrote and used, then the current code on
 * that table: everything stored before the upgrade still reads, and every credential issued
 * before it still works (or still does not, for the revoked one).
 */
describe.each([
  ['the first release', RELEASES.first],
  ['the previous release', RELEASES.previous],
])('npm run migrate on a table written by %s', (_name, release) => {
  let kms: LocalKms
  let table: TestTable
  let data: PreviousReleaseData
  let stack: Stack
  let firstRun: string

  beforeAll(async () => {
    ;({ kms, table, data } = await tableWrittenByPreviousRelease(release))
    firstRun = await migrate(table)
    stack = await startStack({ kms, table })
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await kms?.close()
  })

  it('runs every step that release had not, and a second run applies nothing', async () => {
    const had = (step: Migration) =>
      !step.always && (release.steps as readonly string[]).includes(step.id)
    for (const step of migrations) {
      if (had(step)) expect(firstRun).not.toContain(`${step.id}:`)
      else expect(firstRun).toContain(`${step.id}:`)
    }
    const again = await migrate(table)
    const backfills = migrations.filter((step) => !step.always).length
    expect(again).toContain(
      `${migrations.length - backfills} step(s) run, ${backfills} already applied`,
    )
    // Straight through the function too: nothing but the always-checked steps runs.
    const outcomes = await migrateTable({ ...tableContext(table), log: () => {} })
    expect(outcomes.filter((o) => o.outcome === 'applied').map((o) => o.id)).toEqual(
      migrations.filter((step) => step.always).map((step) => step.id),
    )
  })

  it('reads every version of every key stored before the upgrade', async () => {
    const api = client(stack.app)
    for (const key of data.keys) {
      const current = await api.get(`/v1/keys/${key.name}/value`, data.session)
      expect(current.status).toBe(200)
      expect(current.body.value).toBe(key.values.at(-1))
      for (const [index, value] of key.values.entries()) {
        const old = await api.get(`/v1/keys/${key.id}/value?version=${index + 1}`, data.session)
        expect(old.body.value).toBe(value)
      }
    }
  })

  it('keeps the access tokens and the session issued before it, and the revoked one revoked', async () => {
    const api = client(stack.app)
    const [admin, billing, laptop] = data.tokens
    expect((await api.get('/v1/keys/openai/value', admin?.token)).body.value).toBe(
      'sk-proj-release-two',
    )
    expect((await api.get('/v1/keys/stripe-live/value', billing?.token)).body.value).toBe(
      'sk_live_release_one',
    )
    expect((await api.get('/v1/keys/twilio/value', billing?.token)).status).not.toBe(200)
    const mocked = await api.get('/v1/keys/openai/value', laptop?.token)
    expect(mocked.status).toBe(200)
    expect(mocked.body.mode.effective).toBe('mock')
    expect((await api.get('/v1/keys/openai/value', data.childToken.token)).status).toBe(200)
    expect((await api.get('/v1/keys/openai/value', data.revokedToken.token)).status).toBe(401)
    expect((await api.get('/v1/keys', data.session)).body.items.map((k: any) => k.name)).toEqual([
      'openai',
      'stripe-live',
      'twilio',
    ])
  })

  it('keeps the audit trail verifiable across the upgrade', async () => {
    const api = client(stack.app)
    const verify = await api.get('/v1/audit/verify', data.session)
    expect(verify.status).toBe(200)
    expect(verify.body.ok).toBe(true)
  })
})

function tableContext(table: TestTable) {
  return { dynamodb: table.client, doc: table.doc, table: table.tableName }
}

/** `npm run migrate` as an operator runs it: a process, production configuration. */
async function migrate(table: TestTable): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      KEYSTASH_TABLE: table.tableName,
      AWS_REGION: 'us-east-1',
      KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
      KEYSTASH_DYNAMODB_ENDPOINT: table.endpoint,
      AWS_ACCESS_KEY_ID: DEV_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DEV_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  })
  return stdout
}
