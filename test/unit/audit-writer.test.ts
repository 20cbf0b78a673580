import { describe, expect, it } from 'vitest'
import type { EncodedBlock } from '../../src/audit/blocks.ts'
import { type ChainHead, eventSortKey } from '../../src/audit/chain.ts'
import type { AuditEvent, AuditInput } from '../../src/audit/events.ts'
import { createVerifier } from '../../src/audit/verify.ts'
import { createAuditRecorder } from '../../src/audit/writer.ts'
import { isAppError } from '../../src/errors.ts'
import { AuditWriteError } from '../../src/storage/audit-store.ts'
import { captureLogs } from '../support/log-capture.ts'

/** The in-memory twin of the audit store, with switchable failures. */
function memoryStore() {
  const events = new Map<string, AuditEvent>()
  const heads = new Map<string, ChainHead>()
  const calls: string[] = []
  const fail = { blocks: 0, heads: 0, block: 0, partial: false }
  return {
    events,
    heads,
    calls,
    fail,
    async putBlocks(batch: EncodedBlock[]) {
      calls.push(`blocks:${batch.map((block) => block.events.length).join(',')}`)
      if (fail.blocks > 0) {
        fail.blocks--
        // The first half landed; the rest is reported back, as BatchWriteItem leftovers are.
        const landed = fail.partial ? batch.slice(0, Math.floor(batch.length / 2)) : []
        for (const event of landed.flatMap((block) => block.events)) events.set(event.id, event)
        throw new AuditWriteError(batch.slice(landed.length), new Error('ProvisionedThroughput'))
      }
      for (const event of batch.flatMap((block) => block.events)) events.set(event.id, event)
    },
    async putHeads(batch: ChainHead[]) {
      calls.push(`heads:${batch.map((h) => h.seq).join(',')}`)
      if (fail.heads > 0) {
        fail.heads--
        throw new Error('unavailable')
      }
      for (const head of batch) heads.set(head.chainId, head)
    },
    async putBlock(block: EncodedBlock) {
      calls.push(`block:${block.events.length}`)
      if (fail.block > 0) {
        fail.block--
        throw Object.assign(new Error('boom'), { name: 'InternalServerError' })
      }
      // Stored as it would be read back: from the block's own JSON.
      for (const event of JSON.parse(block.json) as AuditEvent[]) events.set(event.id, event)
    },
    /** Verifies what is stored, as the service would. */
    verify(tenantId = 'org_a') {
      const verifier = createVerifier({ tenantId, from: '2000-01-01', to: '2100-01-01' })
      const mine = [...events.values()].filter((e) => e.tenantId === tenantId)
      for (const event of mine.sort((a, b) => (eventSortKey(a) < eventSortKey(b) ? -1 : 1))) {
        verifier.add(event, eventSortKey(event))
      }
      const mineHeads = [...heads.values()].filter((h) => h.tenantId === tenantId)
      return verifier.finish(mineHeads, mineHeads)
    },
  }
}

let tick = Date.parse('2030-01-01T00:00:00.000Z')
const clock = { now: () => tick++ }

const input = (n: number, tenantId: string | null = 'org_a'): AuditInput => ({
  tenantId,
  action: 'key.value.read',
  actor: { type: 'token', id: 'tok_1', name: 'ci' },
  target: { type: 'key', id: 'key_1', name: 'openai' },
  outcome: { result: 'success' },
  requestId: `req_${n}`,
  details: { version: n, environment: 'production', mode: 'live' },
})

function recorder(mode: 'buffered' | 'strict' | 'off', store = memoryStore()) {
  const logs = captureLogs()
  // A long interval: only flush() and close() write in these tests.
  const audit = createAuditRecorder({
    mode,
    store,
    clock,
    logger: logs.logger,
    flushIntervalMs: 60_000,
  })
  return { audit, store, logs }
}

describe('buffered audit recorder', () => {
  it('returns at once and writes everything buffered on close, in chain order', async () => {
    const { audit, store } = recorder('buffered')
    for (let i = 1; i <= 60; i++) await audit.record(input(i))
    await audit.record(input(61, 'org_b'))
    expect(store.events.size).toBe(0)
    expect(audit.pending).toBe(61)

    await audit.close()
    expect(audit.pending).toBe(0)
    expect(store.events.size).toBe(61)
    // Opening heads first, then a block per chain, then the heads that cover them.
    expect(store.calls).toEqual(['heads:0,0', 'blocks:60,1', 'heads:60,1'])
    const seqs = [...store.events.values()].filter((e) => e.tenantId === 'org_a')
    expect(seqs.map((e) => e.details.version)).toEqual(seqs.map((e) => e.chain.seq))
    expect(store.verify('org_a').ok).toBe(true)
    expect(store.verify('org_b').ok).toBe(true)
  })

  it('keeps what a failed flush did not write, retries it first, and leaves no gap', async () => {
    const { audit, store } = recorder('buffered')
    for (let i = 1; i <= 10; i++) await audit.record(input(i))
    for (let i = 1; i <= 4; i++) await audit.record(input(i, 'org_b'))
    store.fail.blocks = 1
    store.fail.partial = true
    await expect(audit.flush()).rejects.toThrow(AuditWriteError)
    // org_a's block landed, org_b's did not.
    expect(store.events.size).toBe(10)
    expect(audit.pending).toBe(4)
    for (let i = 11; i <= 12; i++) await audit.record(input(i))
    await audit.flush()
    expect(store.events.size).toBe(16)
    expect(store.verify()).toMatchObject({ ok: true, chains: [{ lastSeq: 12, unanchored: 0 }] })
    expect(store.verify('org_b')).toMatchObject({ ok: true, chains: [{ lastSeq: 4 }] })
  })

  it('writes in a flush what was waiting when it began; later events wait for the next', async () => {
    const store = memoryStore()
    let release: () => void = () => {}
    let reached: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const writing = new Promise<void>((resolve) => {
      reached = resolve
    })
    const putBlocks = store.putBlocks
    const held = {
      ...store,
      async putBlocks(batch: EncodedBlock[]) {
        reached()
        await gate
        return putBlocks(batch)
      },
    }
    const { audit } = recorder('buffered', held as typeof store)
    for (let i = 1; i <= 10; i++) await audit.record(input(i))
    const flushing = audit.flush()
    await writing
    // Recorded while the flush is writing: not part of it.
    for (let i = 11; i <= 15; i++) await audit.record(input(i))
    release()
    await flushing
    expect(store.events.size).toBe(10)
    expect(audit.pending).toBe(5)
    expect(store.calls).toEqual(['heads:0', 'blocks:10', 'heads:10'])
    await audit.flush()
    expect(store.events.size).toBe(15)
  })

  it('retries a head that could not be written', async () => {
    const { audit, store } = recorder('buffered')
    await audit.record(input(1))
    await audit.flush()
    await audit.record(input(2))
    store.fail.heads = 1
    await expect(audit.flush()).rejects.toThrow('unavailable')
    expect([...store.heads.values()][0]?.seq).toBe(1)
    await audit.flush()
    expect([...store.heads.values()][0]?.seq).toBe(2)
  })

  it('writes no event of a new chain before its opening head is in', async () => {
    const { audit, store } = recorder('buffered')
    for (let i = 1; i <= 3; i++) await audit.record(input(i))
    store.fail.heads = 1
    await expect(audit.flush()).rejects.toThrow('unavailable')
    expect(store.events.size).toBe(0)
    expect(audit.pending).toBe(3)
    await audit.flush()
    expect(store.calls).toEqual(['heads:0', 'heads:0', 'blocks:3', 'heads:3'])
    expect(store.verify()).toMatchObject({ ok: true, chains: [{ lastSeq: 3 }] })
  })

  it('drops new events when the buffer is full, before they take a place in a chain', async () => {
    const store = memoryStore()
    const logs = captureLogs()
    const audit = createAuditRecorder({
      mode: 'buffered',
      store,
      clock,
      logger: logs.logger,
      flushIntervalMs: 60_000,
      maxBuffered: 3,
    })
    for (let i = 1; i <= 5; i++) await audit.record(input(i))
    await audit.close()
    expect(store.events.size).toBe(3)
    expect(store.verify().ok).toBe(true)
    expect(logs.text()).toContain('audit buffer full')
  })

  it('flushes by itself within the interval', async () => {
    const store = memoryStore()
    const audit = createAuditRecorder({
      mode: 'buffered',
      store,
      clock,
      logger: captureLogs().logger,
      flushIntervalMs: 5,
    })
    await audit.record(input(1))
    await expect.poll(() => store.heads.size === 1 && store.events.size).toBe(1)
  })
})

describe('strict audit recorder', () => {
  it('resolves once the block holding the event is written; the head follows', async () => {
    const { audit, store } = recorder('strict')
    await audit.record(input(1))
    expect(store.events.size).toBe(1)
    // The opening head went first; the head covering the event follows on flush or timer.
    expect(store.calls).toEqual(['heads:0', 'block:1'])
    expect(store.verify()).toMatchObject({ ok: true, chains: [{ lastSeq: 1, unanchored: 1 }] })
    await audit.flush()
    expect([...store.heads.values()][0]?.seq).toBe(1)
    expect(store.verify()).toMatchObject({ ok: true, chains: [{ lastSeq: 1, unanchored: 0 }] })
  })

  it('writes the heads by itself within the interval, even under constant load', async () => {
    const store = memoryStore()
    const audit = createAuditRecorder({
      mode: 'strict',
      store,
      clock,
      logger: captureLogs().logger,
      flushIntervalMs: 5,
    })
    let running = true
    const load = (async () => {
      for (let i = 1; running; i++) {
        // Two records in flight at every moment, yielding to timers between commits as I/O would.
        await Promise.all([audit.record(input(i)), audit.record(input(i))])
        await new Promise(setImmediate)
      }
    })()
    await expect.poll(() => [...store.heads.values()][0]?.seq ?? 0).toBeGreaterThan(1)
    running = false
    await load
  })

  it('commits events that arrive during a write together, in order', async () => {
    const { audit, store } = recorder('strict')
    await Promise.all(Array.from({ length: 20 }, (_, i) => audit.record(input(i + 1))))
    expect(store.events.size).toBe(20)
    expect(store.calls.length).toBeLessThan(20)
    expect(store.verify()).toMatchObject({ ok: true, chains: [{ lastSeq: 20 }] })
  })

  it('writes the events recorded in one turn as one group, the first one included', async () => {
    const { audit, store } = recorder('strict')
    // As the audit thread records a message's events: one after another, without waiting.
    await Promise.all([audit.record(input(1)), audit.record(input(2)), audit.record(input(3))])
    expect(store.calls).toEqual(['heads:0', 'block:3'])
    expect(store.verify()).toMatchObject({ ok: true, chains: [{ lastSeq: 3 }] })
  })

  it('fails closed with audit_unavailable, then continues on a fresh chain', async () => {
    const { audit, store, logs } = recorder('strict')
    await audit.record(input(1))
    store.fail.block = 1
    const refused = await audit.record(input(2)).catch((error: unknown) => error)
    expect(isAppError(refused) && refused.code).toBe('audit_unavailable')
    await audit.record(input(3))
    expect(store.events.size).toBe(2)
    const report = store.verify()
    expect(report.ok).toBe(true)
    expect(report.chains).toHaveLength(2)
    expect(logs.text()).toContain('audit write failed')
  })
})

describe('audit recorder inputs', () => {
  it('records nothing when off', async () => {
    const { audit, store } = recorder('off')
    await audit.record(input(1))
    await audit.close()
    expect(store.calls).toEqual([])
  })

  it('logs an event without a tenant instead of storing it', async () => {
    const { audit, store, logs } = recorder('strict')
    await audit.record({
      ...input(1, null),
      action: 'auth.login',
      outcome: { result: 'denied', code: 'invalid_credentials' },
    })
    expect(store.calls).toEqual([])
    const line = logs.lines().find((l) => l.msg === 'audit event (no tenant)')
    expect(line).toMatchObject({
      audit: { action: 'auth.login', outcome: { code: 'invalid_credentials' } },
    })
  })

  it('drops details that are named like secrets or shaped like tokens', async () => {
    const { audit, store, logs } = recorder('strict')
    await audit.record({
      ...input(1),
      details: {
        version: 1,
        value: 'sk-canary-value',
        Password: 'canary-password',
        note: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWNhbmFyeQ',
      },
    })
    const [event] = [...store.events.values()]
    expect(event?.details).toEqual({ version: 1 })
    expect(JSON.stringify(event)).not.toMatch(/canary/)
    expect(logs.text()).not.toMatch(/canary/)
  })
})
