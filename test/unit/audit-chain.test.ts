import { describe, expect, it } from 'vitest'
import {
  type ChainHead,
  canonical,
  createChains,
  eventSortKey,
  GENESIS,
  hashEvent,
} from '../../src/audit/chain.ts'
import { type AuditEvent, normalise } from '../../src/audit/events.ts'
import { createVerifier } from '../../src/audit/verify.ts'
import { newId } from '../../src/ids.ts'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const FROM = '2029-12-31T00:00:00.000Z'
const TO = '2030-01-02T00:00:00.000Z'

function unsealed(i: number, tenantId = 'org_a') {
  const time = new Date(T0 + i * 1000).toISOString()
  return normalise(
    {
      tenantId,
      action: 'key.value.read',
      actor: { type: 'token', id: `tok_${i}`, name: 'ci' },
      target: { type: 'key', id: 'key_1', name: 'openai' },
      outcome: { result: 'success' },
      requestId: `req_${i}`,
      client: { address: '10.0.0.1', userAgent: 'sdk/1' },
    },
    { id: newId('evt', T0 + i * 1000), time, details: { version: 2, mode: 'live' } },
  )
}

/** A chain of n events as the table would hold them, with its head. */
function chainOf(n: number) {
  const chains = createChains('wtest')
  const events: AuditEvent[] = []
  let head: ChainHead | undefined
  for (let i = 1; i <= n; i++) {
    const sealed = chains.seal(unsealed(i))
    events.push(sealed.event)
    head = sealed.head
  }
  return { events, head: head as ChainHead }
}

function verify(items: Array<{ event: AuditEvent; sortKey?: string }>, heads: ChainHead[]) {
  const verifier = createVerifier({ tenantId: 'org_a', from: FROM, to: TO })
  for (const { event, sortKey } of items) verifier.add(event, sortKey ?? eventSortKey(event))
  return verifier.finish(heads, heads)
}

const asItems = (events: AuditEvent[]) => events.map((event) => ({ event }))

describe('audit hash chain', () => {
  it('links each event to the previous one, from genesis, with gapless seq', () => {
    const { events, head } = chainOf(3)
    expect(events.map((e) => e.chain.seq)).toEqual([1, 2, 3])
    expect(events[0]?.chain.prev).toBe(GENESIS)
    expect(events[1]?.chain.prev).toBe(events[0]?.hash)
    expect(events[2]?.chain.prev).toBe(events[1]?.hash)
    expect(head).toMatchObject({ seq: 3, hash: events[2]?.hash, openedAt: events[0]?.time })
  })

  it('hashes every field: changing any one changes the hash', () => {
    const [event] = chainOf(1).events as [AuditEvent]
    const { hash, ...body } = event
    expect(hashEvent(body)).toBe(hash)
    const variants: Array<Omit<AuditEvent, 'hash'>> = [
      { ...body, id: newId('evt') },
      { ...body, tenantId: 'org_b' },
      { ...body, time: '2030-01-01T00:00:09.000Z' },
      { ...body, action: 'key.delete' },
      { ...body, actor: { ...body.actor, id: 'tok_x' } },
      { ...body, actor: { ...body.actor, tokenId: 'tok_x' } },
      { ...body, target: null },
      { ...body, outcome: { result: 'denied', code: 'insufficient_scope' } },
      { ...body, requestId: null },
      { ...body, client: { ...body.client, userAgent: 'curl' } },
      { ...body, details: { ...body.details, mode: 'mock' } },
      { ...body, chain: { ...body.chain, seq: 2 } },
      { ...body, chain: { ...body.chain, prev: 'f'.repeat(64) } },
    ]
    for (const variant of variants) expect(hashEvent(variant)).not.toBe(hash)
    // Detail order is not significant; the canonical form sorts names.
    const reordered = { ...body, details: { mode: 'live', version: 2 } }
    expect(canonical(reordered)).toBe(canonical(body))
  })

  it('opens one chain per tenant and a new one after rotation', () => {
    const chains = createChains('wtest')
    const a1 = chains.seal(unsealed(1, 'org_a'))
    const b1 = chains.seal(unsealed(2, 'org_b'))
    const a2 = chains.seal(unsealed(3, 'org_a'))
    expect(a1.opening).toMatchObject({ seq: 0, hash: GENESIS, chainId: a1.event.chain.id })
    expect(a2.opening).toBeUndefined()
    expect(b1.event.chain.id).not.toBe(a1.event.chain.id)
    expect(a2.event.chain).toMatchObject({ id: a1.event.chain.id, seq: 2, prev: a1.event.hash })
    chains.rotate('org_a')
    const a3 = chains.seal(unsealed(4, 'org_a'))
    expect(a3.event.chain).toMatchObject({ seq: 1, prev: GENESIS })
    expect(a3.event.chain.id).not.toBe(a1.event.chain.id)
  })
})

describe('audit chain verification', () => {
  it('accepts an intact chain', () => {
    const { events, head } = chainOf(5)
    const report = verify(asItems(events), [head])
    expect(report).toMatchObject({ ok: true, checked: 5, problems: [], firstProblem: null })
    expect(report.chains).toEqual([
      { chainId: head.chainId, events: 5, firstSeq: 1, lastSeq: 5, unanchored: 0 },
    ])
  })

  it('detects a modified field', () => {
    const { events, head } = chainOf(5)
    const tampered = events.map((e) =>
      e.chain.seq === 3 ? { ...e, action: 'key.create' as const } : e,
    )
    const report = verify(asItems(tampered), [head])
    expect(report.ok).toBe(false)
    expect(report.firstProblem).toMatchObject({ kind: 'modified', seq: 3, eventId: events[2]?.id })
    expect(report.problems).toHaveLength(1)
  })

  it('detects a deleted event as a gap', () => {
    const { events, head } = chainOf(5)
    const report = verify(asItems(events.filter((e) => e.chain.seq !== 3)), [head])
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: 3 })
    expect(report.problems).toHaveLength(1)
  })

  it('detects deletion of the newest events through the head', () => {
    const { events, head } = chainOf(5)
    const report = verify(asItems(events.slice(0, 3)), [head])
    expect(report.firstProblem).toMatchObject({ kind: 'deleted', seq: 4 })
    expect(report.firstProblem?.detail).toMatch(/newest/)
  })

  it('detects the deletion of every event of a chain', () => {
    const { head } = chainOf(2)
    expect(verify([], [head]).firstProblem).toMatchObject({
      kind: 'deleted',
      chainId: head.chainId,
    })
  })

  it('detects a forged event inserted at an existing position, and names the forgery', () => {
    const { events, head } = chainOf(5)
    const third = events[2] as AuditEvent
    const body = { ...third, id: newId('evt', T0), actor: { ...third.actor, id: 'tok_evil' } }
    const { hash: _, ...unhashed } = body
    const forged: AuditEvent = { ...unhashed, hash: hashEvent(unhashed) }
    const report = verify(asItems([...events.slice(0, 3), forged, ...events.slice(3)]), [head])
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'inserted', eventId: forged.id }),
    ])
  })

  it('detects a forged chain that has no head', () => {
    const { events, head } = chainOf(2)
    const forger = createChains('wforger').seal(unsealed(9)).event
    const report = verify(asItems([...events, forger]), [head])
    expect(report.firstProblem).toMatchObject({ kind: 'inserted', chainId: forger.chain.id })
  })

  it('detects two events swapped between their places', () => {
    const { events, head } = chainOf(5)
    const [e2, e3] = [events[1] as AuditEvent, events[2] as AuditEvent]
    const items = events.map((event) => ({ event, sortKey: eventSortKey(event) }))
    items[1] = { event: e3, sortKey: eventSortKey(e2) }
    items[2] = { event: e2, sortKey: eventSortKey(e3) }
    const report = verify(items, [head])
    // e3 at e2's key sorts early, which a block whose first event was deleted also does; e2 at
    // e3's key sorts after its own place, which nothing but tampering produces.
    expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['reordered', 2]])
  })

  it('reports a swap across a distance as reordering only, not as deletions', () => {
    const { events, head } = chainOf(6)
    const [e2, e5] = [events[1] as AuditEvent, events[4] as AuditEvent]
    const items = events.map((event) => ({ event, sortKey: eventSortKey(event) }))
    items[1] = { event: e5, sortKey: eventSortKey(e2) }
    items[4] = { event: e2, sortKey: eventSortKey(e5) }
    const report = verify(items, [head])
    expect(report.problems.map((p) => [p.kind, p.seq])).toEqual([['reordered', 2]])
  })

  it('reports an item stripped of fields as modified, without failing', () => {
    const { events, head } = chainOf(3)
    const stripped = { ...events[1], actor: null } as unknown as AuditEvent
    const chainless = { ...events[2], chain: null } as unknown as AuditEvent
    const report = verify(
      [{ event: events[0] as AuditEvent }, { event: stripped }, { event: chainless, sortKey: 'x' }],
      [head],
    )
    expect(report.problems.slice(0, 2).map((p) => [p.kind, p.eventId])).toEqual([
      ['modified', stripped.id],
      ['modified', chainless.id],
    ])
  })

  it('accepts a range that starts inside a chain opened before it', () => {
    const { events, head } = chainOf(5)
    const verifier = createVerifier({ tenantId: 'org_a', from: events[2]?.time ?? '', to: TO })
    for (const event of events.slice(2)) verifier.add(event, eventSortKey(event))
    expect(verifier.finish([head], [head]).ok).toBe(true)
  })

  it('counts events written after the head as unanchored, not as tampering', () => {
    const { events } = chainOf(5)
    const staleHead = { ...chainOf(3).head, chainId: events[0]?.chain.id ?? '' }
    const headAt3 = { ...staleHead, seq: 3, hash: events[2]?.hash ?? '' }
    const report = verify(asItems(events), [headAt3])
    expect(report.ok).toBe(true)
    expect(report.chains[0]?.unanchored).toBe(2)
  })
})
