import { randomBytes } from 'node:crypto'
import { KMSClient } from '@aws-sdk/client-kms'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import { tableShape } from '../../src/storage/migrations/001-table.ts'
import { migrateTable } from '../../src/storage/migrations/index.ts'
import { type LocalKms, startLocalKms } from '../../tools/kms-local/server.ts'
import { createTestTable, type TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  populatePreviousRelease,
  RELEASES,
  startPreviousRelease,
} from '../support/previous-release.ts'
import { tenantItems } from '../support/seed-keys.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

const DAY = 86_400_000
const clock = { offset: 0, now: () => Date.now() + clock.offset }

/**
 * Organizations written by the previous release have no re-keying schedule (and a raw KEK no
 * reminder): `003-rekey-schedules` files them, and then re-keying works on their data.
 */
describe('migrating a previous release’s table for re-keying', () => {
  let kms: LocalKms
  let table: TestTable
  let data: PreviousReleaseData
  let stack: Stack
  let api: ReturnType<typeof client>
  let firstRun: string[]

  const migrate = async () => {
    const lines: string[] = []
    await migrateTable({
      dynamodb: table.client,
      doc: table.doc,
      table: table.tableName,
      log: (line) => lines.push(line),
    })
    return lines
  }

  beforeAll(async () => {
    kms = await startLocalKms()
    // As the previous release left it: its table, none of the later steps.
    table = await createTestTable({ steps: [tableShape] })
    await ensurePlatformKey(
      new KMSClient({ region: 'us-east-1', endpoint: kms.url, credentials: DEV_CREDENTIALS }),
      'alias/keystash-platform',
    )
    const previous = await startPreviousRelease(table, kms.url, {}, RELEASES.first)
    try {
      data = await populatePreviousRelease(previous.url)
      // The previous release already took raw key material.
      const res = await fetch(`${previous.url}/v1/org/encryption`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${data.session}`, 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'raw', material: randomBytes(32).toString('base64') }),
      })
      expect(res.status).toBe(200)
    } finally {
      previous.kill('SIGTERM')
      await previous.exited
    }
    expect(await tenantItems({ table }, data.tenantId, 'REKEY')).toEqual([])
    firstRun = await migrate()
    stack = await startStack({ kms, table, clock, env: { KEYSTASH_RECORD_CACHE_MS: '0' } })
    api = client(stack.app)
  }, 180_000)

  afterAll(async () => {
    await stack?.close()
    await kms?.close()
  })

  it('files a schedule from the organization’s creation and the raw material’s reminder, once', async () => {
    expect(firstRun.join('\n')).toContain(
      '003-rekey-schedules: 1 re-keying schedule(s) and 1 raw material reminder(s) added',
    )
    expect((await migrate()).join('\n')).not.toContain('003-rekey-schedules')
    const view = (await api.get('/v1/org/encryption', data.session)).body
    expect(view.provider).toBe('raw')
    const [org] = await tenantItems(stack, data.tenantId, 'ORG')
    expect(Date.parse(view.rekey.nextDueAt) - Date.parse(org?.createdAt)).toBe(365 * DAY)
    expect(Date.parse(view.kekRotation.replaceMaterialBy) - Date.parse(view.createdAt)).toBe(
      365 * DAY,
    )
    expect(await tenantItems(stack, data.tenantId, 'KEKREMIND')).toHaveLength(1)
  })

  it('lets the schedule re-key the old data when due, every version still reading back', async () => {
    await stack.deps.reencryption.idle()
    clock.offset = 366 * DAY
    const started = await stack.deps.rekeying.startDue()
    expect(started.map((job) => job.tenantId)).toEqual([data.tenantId])
    await stack.deps.reencryption.idle()
    for (const item of await tenantItems(stack, data.tenantId, 'KEYVER#')) {
      expect(item.recordVersion).toBe(2)
    }
    const login = await api.post('/v1/auth/login', { email: data.email, password: data.password })
    const session = login.body.session.token as string
    stack.deps.dekCache.clear()
    for (const key of data.keys) {
      for (const [index, value] of key.values.entries()) {
        const read = await api.get(`/v1/keys/${key.id}/value?version=${index + 1}`, session)
        expect(read.body.value).toBe(value)
      }
    }
  }, 120_000)
})
