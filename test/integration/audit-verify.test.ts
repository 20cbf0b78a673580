import { PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toEvent } from '../../src/audit/blocks.ts'
import { eventSortKey, hashEvent } from '../../src/audit/chain.ts'
import type { AuditEvent } from '../../src/audit/events.ts'
import { newId } from '../../src/ids.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import {
  blockItems,
  eventItems,
  eventsOf,
  insertBlock,
  manualClock,
  recordEvents,
  tamperBlock,
} from './audit-helpers.ts'

let stack: Stack
let api: ReturnType<typeof client>
const clock = manualClock()

beforeAll(async () => {
  stack = await startStack({ clock, env: { KEYSTASH_AUDIT_RETENTION_DAYS: '1' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

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
    await tamperBlock(stack, owner.tenantId, target.id, (events) =>
      events.map((event) =>
        event.id === target.id
          ? { ...event, outcome: { result: 'denied', code: 'insufficient_scope' } }
          : event,
      ),
    )
    const report = await verify(owner.session)
    expect(report.ok).toBe(false)
    expect(report.firstProblem).toMatchObject({ kind: 'modified', eventId: target.id, seq: 3 })
    expect(report.problems).toHaveLength(1)
  })

  it('detects a deleted event', async () => {
    const { owner, items } = await tenantWithEvents()
    const target = items[3] as Record<string, any>
    await tamperBlock(stack, owner.tenantId, target.id, (events) =>
      events.filter((event) => event.id !== target.id),
    )
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: 4 })
    expect(report.problems).toHaveLength(1)
  })

  it('detects a deleted block', async () => {
    const { owner, items } = await tenantWithEvents()
    const target = items[3] as Record<string, any>
    const holding = (await blockItems(stack, owner.tenantId)).find((item) =>
      eventsOf(item).some((event) => event.id === target.id),
    )
    const seqs = eventsOf(holding ?? {}).map((event) => event.chain.seq)
    await tamperBlock(stack, owner.tenantId, target.id, () => [])
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: seqs[0] })
  })

  it('detects the deletion of the newest event (truncation) through the chain head', async () => {
    const { owner, items } = await tenantWithEvents()
    const last = items[6] as Record<string, any>
    await tamperBlock(stack, owner.tenantId, last.id, (events) =>
      events.filter((event) => event.id !== last.id),
    )
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: 7 })
    expect(report.problems).toHaveLength(1)
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
    expect(eventSortKey(forged) < eventSortKey(original)).toBe(true)
    await insertBlock(stack, owner.tenantId, [forged])
    const report = await verify(owner.session)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'inserted', eventId: forged.id, seq: 3 }),
    ])
  })

  it('detects events stored out of order', async () => {
    const { owner } = await tenantWithEvents()
    // Not the chain's first block: a chain that seems to start at seq 2 also looks truncated.
    const block = (await blockItems(stack, owner.tenantId)).find(
      (item) => eventsOf(item).length >= 2 && eventsOf(item)[0]?.chain.seq > 1,
    )
    const [a, b] = eventsOf(block ?? {}) as [Record<string, any>, Record<string, any>]
    await tamperBlock(stack, owner.tenantId, a.id, ([first, second, ...rest]) => [
      second as Record<string, any>,
      first as Record<string, any>,
      ...rest,
    ])
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({ kind: 'reordered', eventId: a.id })
    expect(report.problems.every((p: { kind: string }) => p.kind === 'reordered')).toBe(true)
    expect(b.chain.seq).toBe(a.chain.seq + 1)
  })

  it('detects a block moved to a later place in the time line', async () => {
    const { owner, items } = await tenantWithEvents()
    const target = items[1] as Record<string, any>
    const later = new Date(Date.parse((items[5] as Record<string, any>).time) + 1).toISOString()
    await tamperBlock(
      stack,
      owner.tenantId,
      target.id,
      (events) => events,
      (events) => `EVT#${later}#${events[0]?.chain.id}#${'9'.repeat(12)}`,
    )
    const report = await verify(owner.session)
    expect(report.ok).toBe(false)
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'reordered' }))
  })

  it('names an unreadable block', async () => {
    const { owner, items } = await tenantWithEvents()
    const target = items[4] as Record<string, any>
    const holding = (await blockItems(stack, owner.tenantId)).find((item) =>
      eventsOf(item).some((event) => event.id === target.id),
    ) as Record<string, any>
    await stack.table.doc.send(
      new PutCommand({
        TableName: stack.table.tableName,
        Item: { ...holding, events: Buffer.from('not gzip') },
      }),
    )
    const report = await verify(owner.session)
    expect(report.firstProblem).toMatchObject({
      kind: 'modified',
      seq: eventsOf(holding)[0]?.chain.seq,
      detail: expect.stringContaining('cannot be read'),
    })
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
