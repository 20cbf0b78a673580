import { describe, expect, it } from 'vitest'
import {
  BLOCK_SPAN_MS,
  type EncodedBlock,
  readBlock,
  toBlocks,
  toEvent,
} from '../../src/audit/blocks.ts'
import { createChains } from '../../src/audit/chain.ts'
import { type AuditEvent, normalise } from '../../src/audit/events.ts'
import { AuditWriteError, createAuditStore } from '../../src/storage/audit-store.ts'

/** n events of one chain, `stepMs` apart. */
function events(n: number, stepMs = 1000, tenantId = 'org_a'): AuditEvent[] {
  const chains = createChains(tenantId === 'org_a' ? 'wstore' : 'wother')
  return Array.from({ length: n }, (_, i) => {
    const time = new Date(Date.UTC(2030, 0, 1) + i * stepMs).toISOString()
    const input = {
      tenantId,
      action: 'token.create' as const,
      actor: { type: 'user' as const, id: 'usr_1' },
      outcome: { result: 'success' as const },
    }
    return chains.seal(normalise(input, { id: `evt_${i}`, time, details: {} })).event
  })
}

/** A DynamoDB document client that leaves the first `leftover` items unprocessed each call. */
function fakeDoc(script: Array<{ leftover?: number; error?: Error }>) {
  const written: Array<Record<string, unknown>> = []
  const requests: number[] = []
  return {
    written,
    requests,
    async send(command: { input: { RequestItems: Record<string, any[]> } }) {
      const table = Object.keys(command.input.RequestItems)[0] as string
      const batch = command.input.RequestItems[table] as Array<{ PutRequest: { Item: any } }>
      requests.push(batch.length)
      const step = script.shift() ?? {}
      if (step.error) throw step.error
      const leftover = batch.slice(0, step.leftover ?? 0)
      for (const request of batch.slice(leftover.length)) written.push(request.PutRequest.Item)
      // DynamoDB hands back copies of the unprocessed requests, not the objects it was sent.
      const copies = leftover.map((request) => structuredClone(request))
      return { UnprocessedItems: copies.length > 0 ? { [table]: copies } : {} }
    },
  }
}

const noSleep = async () => {}

describe('audit blocks', () => {
  it('cut a chain where its span, count or size would pass the bounds', () => {
    // 2.5 events per second: a block may span one second, so it holds three.
    const blocks = toBlocks(events(10, 400))
    expect(blocks.map((block) => block.events.length)).toEqual([3, 3, 3, 1])
    for (const block of blocks) {
      const times = block.events.map((event) => Date.parse(event.time))
      expect(Math.max(...times) - Math.min(...times)).toBeLessThanOrEqual(BLOCK_SPAN_MS)
      expect(block.sortKey).toMatch(/^EVT#2030-01-01T00:00:\d\d\.\d{3}Z#wstore-1#\d{12}$/)
    }
    // Events at the same instant: the size bound (under DynamoDB's 400 KB even uncompressed).
    const many = toBlocks(events(2500, 0))
    expect(many.length).toBeGreaterThan(2)
    expect(many.flatMap((block) => block.events.map((e) => e.chain.seq))).toEqual(
      Array.from({ length: 2500 }, (_, i) => i + 1),
    )
    for (const block of many) expect(block.json.length).toBeLessThanOrEqual(300_000)
  })

  it('keep chains apart and each chain in order', () => {
    const mixed = [...events(3, 0, 'org_a'), ...events(2, 0, 'org_b')]
    const blocks = toBlocks(mixed)
    expect(blocks.map((block) => [block.tenantId, block.events.map((e) => e.chain.seq)])).toEqual([
      ['org_a', [1, 2, 3]],
      ['org_b', [1, 2]],
    ])
  })

  it('round-trip through the stored bytes; a damaged block reads as unreadable', async () => {
    const [block] = toBlocks(events(5, 10)) as [EncodedBlock]
    const doc = fakeDoc([{}])
    const store = createAuditStore({ doc, table: 't', retentionDays: 30, sleep: noSleep })
    await store.putBlocks([block])
    const [item] = doc.written as [Record<string, any>]
    expect(item).toMatchObject({
      pk: 'AUDIT#org_a',
      sk: block.sortKey,
      type: 'audit-block',
      chainId: 'wstore-1',
      firstSeq: 1,
      lastSeq: 5,
      count: 5,
    })
    const last = block.events[4] as AuditEvent
    expect(item.ttl).toBe(Math.floor(Date.parse(last.time) / 1000) + 30 * 86400)
    const read = await readBlock(item.sk, item.events)
    expect(read.events.map(toEvent)).toEqual(block.events)
    // Compressed: five similar events take far less than their JSON.
    expect((item.events as Buffer).length).toBeLessThan(block.json.length / 2)
    const damaged = Buffer.from(item.events)
    damaged[damaged.length - 9] = (damaged[damaged.length - 9] ?? 0) ^ 0xff
    expect(await readBlock(item.sk, damaged)).toMatchObject({
      events: [],
      unreadable: expect.any(String),
    })
    expect(await readBlock(item.sk, 'not bytes')).toMatchObject({ unreadable: expect.any(String) })
  })
})

describe('audit store batch writes', () => {
  /** 30 blocks of one event each (events a block span apart). */
  const blocks = () => toBlocks(events(30, BLOCK_SPAN_MS + 1))

  it('writes in batches of 25 and retries UnprocessedItems and errors until all are in', async () => {
    const doc = fakeDoc([
      { leftover: 5 },
      { error: new Error('ThrottlingException') },
      { leftover: 2 },
      {},
      {},
    ])
    const store = createAuditStore({ doc, table: 't', retentionDays: 30, sleep: noSleep })
    const all = blocks()
    expect(all).toHaveLength(30)
    await store.putBlocks(all)
    expect(doc.requests).toEqual([25, 5, 5, 2, 5])
    expect(doc.written.map((item) => item.sk).sort()).toEqual(all.map((b) => b.sortKey).sort())
  })

  it('reports the blocks it could not write, in order, after its attempts', async () => {
    const doc = fakeDoc([{}, { leftover: 3 }, { leftover: 3 }, { leftover: 3 }])
    const store = createAuditStore({
      doc,
      table: 't',
      retentionDays: 30,
      attempts: 3,
      sleep: noSleep,
    })
    const all = toBlocks(events(60, BLOCK_SPAN_MS + 1))
    const error = await store.putBlocks(all).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuditWriteError)
    const remaining = (error as AuditWriteError).remaining as EncodedBlock[]
    expect(remaining.map((block) => block.events[0]?.chain.seq)).toEqual([
      26,
      27,
      28,
      ...Array.from({ length: 10 }, (_, i) => 51 + i),
    ])
  })
})
