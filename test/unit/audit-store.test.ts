import { describe, expect, it } from 'vitest'
import { createChains } from '../../src/audit/chain.ts'
import { type AuditEvent, normalise } from '../../src/audit/events.ts'
import { AuditWriteError, createAuditStore, toEvent } from '../../src/audit/store.ts'

function events(n: number): AuditEvent[] {
  const chains = createChains('wstore')
  return Array.from({ length: n }, (_, i) => {
    const time = new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString()
    const input = {
      tenantId: 'org_a',
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

describe('audit store batch writes', () => {
  it('writes in batches of 25 and retries UnprocessedItems and errors until all are in', async () => {
    const doc = fakeDoc([
      { leftover: 5 },
      { error: new Error('ThrottlingException') },
      { leftover: 2 },
      {},
      {},
    ])
    const store = createAuditStore({ doc, table: 't', retentionDays: 30, sleep: noSleep })
    const all = events(30)
    await store.putEvents(all)
    expect(doc.requests).toEqual([25, 5, 5, 2, 5])
    expect(doc.written.map((item) => item.id).sort()).toEqual(all.map((e) => e.id).sort())
    const [item] = doc.written
    expect(item).toMatchObject({ pk: 'AUDIT#org_a', type: 'audit-event' })
    expect(String(item?.sk)).toMatch(/^EVT#2030-01-01T00:00:\d\d\.000Z#wstore-1#0000000000\d\d$/)
    expect(item?.ttl).toBe(Math.floor(Date.parse(String(item?.time)) / 1000) + 30 * 86400)
    // What the table adds never reaches the hashed event.
    expect(toEvent(item ?? {})).toEqual(all.find((e) => e.id === item?.id))
  })

  it('reports the events it could not write, in order, after its attempts', async () => {
    const doc = fakeDoc([{}, { leftover: 3 }, { leftover: 3 }, { leftover: 3 }])
    const store = createAuditStore({
      doc,
      table: 't',
      retentionDays: 30,
      attempts: 3,
      sleep: noSleep,
    })
    const all = events(60)
    const error = await store.putEvents(all).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuditWriteError)
    const remaining = (error as AuditWriteError).remaining as AuditEvent[]
    expect(remaining.map((e) => e.chain.seq)).toEqual([
      26,
      27,
      28,
      ...Array.from({ length: 10 }, (_, i) => 51 + i),
    ])
  })
})
