import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createOffThreadAuditRecorder } from '../../src/audit/off-thread.ts'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { captureLogs } from '../support/log-capture.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { eventItems, parseNdjson } from './audit-helpers.ts'

// The thread builds its own SDK clients from the configuration and the environment, as the
// server does; DynamoDB Local wants some credentials.
process.env.AWS_ACCESS_KEY_ID ??= DEV_CREDENTIALS.accessKeyId
process.env.AWS_SECRET_ACCESS_KEY ??= DEV_CREDENTIALS.secretAccessKey

const event = (tenantId: string, n: number) => ({
  tenantId,
  action: 'org.update' as const,
  actor: { type: 'user' as const, id: 'usr_1' },
  target: { type: 'org' as const, id: tenantId },
  outcome: { result: 'success' as const },
  details: { n },
})

describe.each(['buffered', 'strict'] as const)('the audit thread, %s mode', (mode) => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({
      env: { KEYSTASH_AUDIT_MODE: mode, KEYSTASH_AUDIT_WRITER: 'thread' },
    })
  })
  afterAll(async () => {
    await stack?.deps.audit.close()
    await stack?.close()
  })

  it('writes what requests record, in order, on chains that verify', async () => {
    const api = client(stack.app)
    const owner = await signup(api)
    await api.post('/v1/keys', { name: 'k', value: 'thread-secret-value' }, owner.session)
    for (let i = 0; i < 5; i++) await api.get('/v1/keys/k/value', owner.session)
    await api.get('/v1/keys/missing/value', owner.session)

    if (mode === 'buffered') await stack.deps.audit.flush()
    const exported = await stack.app.request('/v1/audit/export', {
      headers: { authorization: `Bearer ${owner.session}` },
    })
    const actions = parseNdjson(await exported.text()).map((e) => [e.action, e.outcome.result])
    expect(actions).toEqual([
      ['auth.signup', 'success'],
      ['key.create', 'success'],
      ...Array.from({ length: 5 }, () => ['key.value.read', 'success']),
      ['key.value.read', 'denied'],
      // Strict mode writes the export's own event before the export reads.
      ...(mode === 'strict' ? [['audit.export', 'success']] : []),
    ])
    const verify = await api.get('/v1/audit/verify', owner.session)
    expect(verify.body).toMatchObject({ ok: true })
    expect(verify.body.checked).toBeGreaterThanOrEqual(actions.length)
    // The thread's items are the same blocks as the request thread's; nothing holds the value.
    const items = await eventItems(stack, owner.tenantId)
    expect(JSON.stringify(items)).not.toContain('thread-secret-value')
  })

  it('writes everything recorded before close() returns', async () => {
    const owner = await signup(client(stack.app))
    const recorder = createOffThreadAuditRecorder({
      config: loadConfig({
        KEYSTASH_DYNAMODB_ENDPOINT: stack.table.endpoint,
        KEYSTASH_TABLE: stack.table.tableName,
        AWS_REGION: 'us-east-1',
        KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
        KEYSTASH_AUDIT_MODE: mode,
      }),
      clock: systemClock,
      logger: captureLogs().logger,
    })
    const recorded = Array.from({ length: 120 }, (_, i) =>
      recorder.record(event(owner.tenantId, i)),
    )
    if (mode === 'buffered') expect(recorder.pending).toBe(120)
    await recorder.close()
    await Promise.all(recorded)
    const stored = (await eventItems(stack, owner.tenantId)).filter(
      (item) => item.action === 'org.update',
    )
    expect(stored.map((item) => item.details.n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 120 }, (_, i) => i),
    )
  })
})

describe('the audit thread, strict mode, when DynamoDB refuses the writes', () => {
  it('fails closed: record() rejects with audit_unavailable', async () => {
    const stack = await startStack()
    const logs = captureLogs()
    const recorder = createOffThreadAuditRecorder({
      // A table that does not exist: every write the thread makes fails.
      config: loadConfig({
        KEYSTASH_DYNAMODB_ENDPOINT: stack.table.endpoint,
        KEYSTASH_TABLE: `${stack.table.tableName}-missing`,
        AWS_REGION: 'us-east-1',
        KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
        KEYSTASH_AUDIT_MODE: 'strict',
      }),
      clock: systemClock,
      logger: logs.logger,
    })
    try {
      const outcomes = await Promise.allSettled([
        recorder.record(event('org_thread', 1)),
        recorder.record(event('org_thread', 2)),
      ])
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected')
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({
          code: 'audit_unavailable',
        })
      }
    } finally {
      await recorder.close().catch(() => {})
      await stack.close()
    }
  })
})

/** A recorder whose thread throws as it starts: its configuration has no AWS settings at all. */
function threadThatCannotStart(mode: 'buffered' | 'strict') {
  const logs = captureLogs()
  const recorder = createOffThreadAuditRecorder({
    config: { audit: { mode, writer: 'thread', retentionDays: 1 } } as never,
    clock: systemClock,
    logger: logs.logger,
    handOffMs: 1,
  })
  const failures = () => logs.lines().filter((line) => line.msg === 'audit thread failed')
  return { logs, recorder, failures }
}

describe('the audit thread, when it stops', () => {
  it('holds buffered events back for a restart instead of starting a thread per event', async () => {
    const { logs, recorder, failures } = threadThatCannotStart('buffered')
    try {
      await recorder.record(event('org_thread', 1))
      await vi.waitFor(() => expect(failures()).toHaveLength(1))
      await recorder.record(event('org_thread', 2))
      await recorder.record(event('org_thread', 3))
      // Handed over (1 ms) into the hold-back: kept, not sent to a new thread.
      await vi.waitFor(() => expect(recorder.pending).toBe(2))
      expect(failures()).toHaveLength(1)
      // Closing drops them, says so, and leaves no timer to start a thread later.
      await recorder.close()
      expect(recorder.pending).toBe(0)
      const dropped = logs.lines().filter((line) => String(line.msg).includes('dropped'))
      expect(dropped.map((line) => line.dropped)).toEqual([2])
    } finally {
      await recorder.close()
    }
  })

  it('fails the strict events it had not confirmed closed, and is not restarted for every event', async () => {
    const { recorder, failures } = threadThatCannotStart('strict')
    try {
      const first = await recorder.record(event('org_thread', 1)).catch((error: unknown) => error)
      expect(first).toMatchObject({ code: 'audit_unavailable' })
      // Within the restart delay an event is refused at once, without starting another thread.
      const second = await recorder.record(event('org_thread', 2)).catch((error: unknown) => error)
      expect(second).toMatchObject({ code: 'audit_unavailable' })
      expect(failures()).toHaveLength(1)
    } finally {
      await recorder.close()
    }
  })
})
