import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventSortKey, hashEvent } from '../../src/audit/chain.ts'
import type { AuditEvent } from '../../src/audit/events.ts'
import { toEvent } from '../../src/audit/store.ts'
import { newId } from '../../src/ids.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { eventItems, manualClock, recordEvents } from './audit-helpers.ts'

let stack: Stack
let api: ReturnType<typeof client>
const clock = manualClock()

beforeAll(async () => {
  stack = await startStack({ clock, env: { KEYSTASH_AUDIT_RETENTION_DAYS: '1' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

const TableName = () => stack.table.tableName

/** A fresh tenant with six events on one chain, and its items as stored. */
async function tenantWithEvents() {
  const owner = await signup(api)
  await recordEvents(stack, clock, owner.tenantId, 6)
  const items = await eventItems(stack, owner.tenantId)
  // Sign-up's own event, then the six.
  expect(items.map((item) => item.action)).toEqual([
    'auth.signup',
    ...Array(6).fill(expect.any(String)),
  ])
  return { owner, items }
}

async function verify(session: string) {
  const res = await api.get('/v1/audit/verify', session)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body
}

describe('GET /v1/audit/verify', () => {
  it('passes an untouched log and returns the chain heads to keep', async () => {
    const { owner, items } = await tenantWithEvents()
    const report = await verify(owner.session)
    expect(report).toMatchObject({ ok: true, checked: 7, problems: [], firstProblem: null })
    expect(report.chains).toEqual([expect.objectContaining({ events: 7, lastSeq: 7 })])
    expect(report.heads).toEqual([
      expect.objectContaining({ chainId: items[0]?.chain.id, seq: 7, hash: items[6]?.hash }),
    ])
  })

  it('detects a modified field', async () => {
    const { owner, items } = await tenantWithEvents()
    const target = items[2] as Record<string, any>
    await stack.table.doc.send(
      new UpdateCommand({
        TableName: TableName(),
        Key: { pk: target.pk, sk: target.sk },
        UpdateExpression: 'SET outcome.#code = :code, outcome.#result = :denied',
        ExpressionAttributeNames: { '#code': 'code', '#result': 'result' },
        ExpressionAttributeValues: { ':code': 'insufficient_scope', ':denied': 'denied' },
      }),
    )
    const report = await verify(owner.session)
    expect(report.ok).toBe(false)
    expect(report.firstProblem).toMatchObject({ kind: 'modified', eventId: target.id, seq: 3 })
    expect(report.problems).toHaveLength(1)
  })

  it('detects a deleted event', async () => {
    const { owner, items } = await tenantWithEvents()
    const target = items[3] as Record<string, any>
    await stack.table.doc.send(
      new DeleteCommand({ TableName: TableName(), Key: { pk: target.pk, sk: target.sk } }),
    )
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: 4 })
    expect(report.problems).toHaveLength(1)
  })

  it('detects the deletion of the newest event (truncation) through the chain head', async () => {
    const { owner, items } = await tenantWithEvents()
    const last = items[5] as Record<string, any>
    await stack.table.doc.send(
      new DeleteCommand({ TableName: TableName(), Key: { pk: last.pk, sk: last.sk } }),
    )
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: 6 })
  })

  it('detects an inserted forged event, even one whose hash was recomputed', async () => {
    const { owner, items } = await tenantWithEvents()
    const original = toEvent(items[2] as Record<string, any>)
    const { hash: _, ...body } = {
      ...original,
      id: newId('evt'),
      time: new Date(Date.parse(original.time) - 500).toISOString(),
      actor: { type: 'token' as const, id: 'tok_innocent', name: null, tokenId: null },
    }
    const forged: AuditEvent = { ...body, hash: hashEvent(body) }
    await stack.table.doc.send(
      new PutCommand({
        TableName: TableName(),
        Item: { ...items[2], ...forged, sk: eventSortKey(forged) },
      }),
    )
    const report = await verify(owner.session)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'inserted', eventId: forged.id, seq: 3 }),
    ])
  })

  it('detects two events swapped', async () => {
    const { owner, items } = await tenantWithEvents()
    const [a, b] = [items[1] as Record<string, any>, items[2] as Record<string, any>]
    await stack.table.doc.send(
      new PutCommand({ TableName: TableName(), Item: { ...b, pk: a.pk, sk: a.sk } }),
    )
    await stack.table.doc.send(
      new PutCommand({ TableName: TableName(), Item: { ...a, pk: b.pk, sk: b.sk } }),
    )
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'reordered', eventId: b.id })
    expect(report.problems.every((p: { kind: string }) => p.kind === 'reordered')).toBe(true)
  })

  it('verifies chains written concurrently by two instances', async () => {
    const owner = await signup(api)
    const other = client(stack.another({ KEYSTASH_AUDIT_MODE: 'strict' }))
    const created = await api.post(
      '/v1/tokens',
      { name: 'no-audit', scopes: ['keys:list'], expiresIn: 3600, environment: 'production' },
      owner.session,
    )
    const token = created.body.token
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? api : other).get('/v1/audit', token)),
    )
    await stack.deps.audit.flush()
    const report = await verify(owner.session)
    expect(report.ok).toBe(true)
    // The twenty rejections, plus sign-up and token creation.
    expect(report.checked).toBe(22)
    expect(report.chains).toHaveLength(2)
    expect(report.heads).toHaveLength(2)
  })

  it('ignores events past the retention period, which DynamoDB Local never expires', async () => {
    const { owner } = await tenantWithEvents()
    clock.advance(2 * 86400_000)
    const login = await api.post('/v1/auth/login', { email: owner.email, password: owner.password })
    const session = login.body.session.token
    await recordEvents(stack, clock, owner.tenantId, 2)
    const listed = await api.get('/v1/audit?action=key.value.read', session)
    expect(listed.body.items.map((e: AuditEvent) => e.details.n)).toEqual([2, 1])
    const report = await verify(session)
    // Only the login and the two new events are inside the retention period.
    expect(report).toMatchObject({ ok: true, checked: 3 })
    expect(await eventItems(stack, owner.tenantId)).toHaveLength(10)
  })
})
