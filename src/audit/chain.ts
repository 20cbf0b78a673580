import { hash, randomBytes } from 'node:crypto'
import type { AuditEvent, UnsealedEvent } from './events.ts'

/**
 * Tamper evidence: hash chains.
 *
 * Sharding. A tenant's events form several chains, one per (tenant, writer), where a writer
 * is one server process (a random id drawn at start-up, plus a generation number bumped when a
 * chain has to be abandoned). One global chain per tenant would need a serialisation point
 * shared by every instance: a chain-head item updated with a conditional write on every event,
 * i.e. a read-modify-write round trip, retries under contention and one hot item capping the
 * tenant's write rate. Per-writer chains need no coordination: each process appends to its
 * own chains in memory order (the buffer's order, or the strict queue's), so writes stay
 * batched and contention-free. Any number of chains verify independently.
 *
 * Each event carries (chain id, seq, prev): its position, numbered from 1 without gaps, and
 * the hash of its predecessor (GENESIS for seq 1). Its hash is SHA-256 over `canonical(event)`
 * below, which covers every field in a fixed order, including the position and `prev`, so
 * anyone holding an export can recompute it. A deleted event leaves a gap in seq, an inserted
 * one a duplicate position or a broken link, a moved one a block (blocks.ts) stored after its
 * first event's place or an event stored after a later one, a modified one a hash mismatch.
 *
 * A head item per chain records its last (seq, hash), written after the events it covers, so
 * deleting the newest events (truncation) shows as a head ahead of the surviving chain. It
 * also records when the chain opened, and is written before the chain's first event, so a
 * chain without a head is forged (or its head was deleted).
 *
 * What it does not prove: someone with write access to the table who rewrites a chain from
 * the point of tampering onwards, recomputing every hash and the head, leaves a consistent
 * chain. Only heads kept outside the table catch that: `verify` returns the current heads so
 * a tenant can store them and later check that the exported chain still passes through them.
 */
export const GENESIS = '0'.repeat(64)
const FORMAT = 'keystash.audit.v1'

/**
 * The hashed serialisation: a JSON array with a fixed order, absent values as null. The trace
 * id, kept since after the first events were written, comes last and only when present, so
 * events from before it hash as they always did.
 */
export function canonical(event: Omit<AuditEvent, 'hash'>): string {
  const details = Object.keys(event.details)
    .sort()
    .map((name) => [name, event.details[name] ?? null])
  const fields: unknown[] = [
    FORMAT,
    event.id,
    event.tenantId,
    event.time,
    event.action,
    [event.actor.type, event.actor.id, event.actor.name, event.actor.tokenId],
    event.target ? [event.target.type, event.target.id, event.target.name] : null,
    [event.outcome.result, event.outcome.code],
    event.requestId,
    [event.client.address, event.client.userAgent],
    details,
    [event.chain.id, event.chain.seq, event.chain.prev],
  ]
  if (event.traceId) fields.push(event.traceId)
  return JSON.stringify(fields)
}

// One-shot `crypto.hash` (Node >= 20.12): a third of the cost of a Hash object per event.
export const hashEvent = (event: Omit<AuditEvent, 'hash'>): string =>
  hash('sha256', canonical(event), 'hex')

/**
 * The sort key of an event: time first (so a tenant's partition reads in time order), then
 * chain and seq, so that within one chain the table order is the chain order (writers never
 * let a chain's time go backwards).
 */
export function eventSortKey(event: Pick<AuditEvent, 'time' | 'chain'>): string {
  return `EVT#${event.time}#${event.chain.id}#${String(event.chain.seq).padStart(12, '0')}`
}

/** The chain head as stored: the last event written, and when the chain opened. */
export interface ChainHead {
  tenantId: string
  chainId: string
  seq: number
  hash: string
  /** Time of the last event (of the opening, while seq is 0). */
  lastTime: string
  openedAt: string
}

export interface Sealed {
  event: AuditEvent
  /** Set on a chain's first event: the head to write before anything else of the chain. */
  opening: ChainHead | undefined
  head: ChainHead
}

/** This process's chains, one per tenant, extended in call order. */
export function createChains(instanceId = newInstanceId()) {
  const chains = new Map<string, { id: string; seq: number; hash: string; openedAt: string }>()
  let generation = 0

  function seal(unsealed: UnsealedEvent): Sealed {
    let chain = chains.get(unsealed.tenantId)
    let opening: ChainHead | undefined
    if (!chain) {
      chain = {
        id: `${instanceId}-${++generation}`,
        seq: 0,
        hash: GENESIS,
        openedAt: unsealed.time,
      }
      chains.set(unsealed.tenantId, chain)
      opening = headOf(unsealed.tenantId, chain, unsealed.time)
    }
    // Built field by field: object spreads showed up at a few microseconds per event.
    const { id, tenantId, time, action, actor, target, outcome, requestId, traceId, client } =
      unsealed
    const event: AuditEvent = {
      id,
      tenantId,
      time,
      action,
      actor,
      target,
      outcome,
      requestId,
      ...(traceId ? { traceId } : {}),
      client,
      details: unsealed.details,
      chain: { id: chain.id, seq: chain.seq + 1, prev: chain.hash },
      hash: '',
    }
    event.hash = hashEvent(event)
    chain.seq = event.chain.seq
    chain.hash = event.hash
    return { event, opening, head: headOf(unsealed.tenantId, chain, event.time) }
  }

  /**
   * Abandons a tenant's chain after a write whose fate is unknown: the next event opens a new
   * chain, so the old one ends cleanly wherever the failed write left it.
   */
  function rotate(tenantId: string): void {
    chains.delete(tenantId)
  }

  return { instanceId, seal, rotate }
}

export type Chains = ReturnType<typeof createChains>

function headOf(
  tenantId: string,
  chain: { id: string; seq: number; hash: string; openedAt: string },
  lastTime: string,
): ChainHead {
  return {
    tenantId,
    chainId: chain.id,
    seq: chain.seq,
    hash: chain.hash,
    lastTime,
    openedAt: chain.openedAt,
  }
}

const newInstanceId = () => `w${randomBytes(6).toString('hex')}`
