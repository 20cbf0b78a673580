import { describe, expect, it } from 'vitest'
import { actorOf, SUCCESS } from '../../src/audit/events.ts'
import { pack, unpack } from '../../src/audit/thread-messages.ts'
import type { Principal } from '../../src/auth/principal.ts'

const principal: Principal = Object.freeze({
  kind: 'access',
  tokenId: 'tok_1',
  tenantId: 'org_1',
  scopes: ['keys:read'],
  name: 'ci',
}) as Principal

describe('audit events handed to the thread', () => {
  it('arrive as they were recorded, with their time and ticket', () => {
    const input = {
      tenantId: 'org_1',
      action: 'key.value.read' as const,
      actor: actorOf(principal),
      target: { type: 'key' as const, id: 'key_1', name: 'openai' },
      outcome: SUCCESS,
      requestId: 'req_1',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      client: { address: '10.0.0.1', userAgent: 'sdk/1' },
      details: { version: 2, mode: 'live' },
    }
    // Through the structured clone, as postMessage copies it.
    const arrived = unpack(structuredClone(pack(input, 1_700_000_000_123, 7)))
    expect(arrived).toEqual({ input, at: 1_700_000_000_123, ticket: 7 })
  })

  it('keep an absent client, details and ticket absent', () => {
    const input = {
      tenantId: null,
      action: 'auth.login' as const,
      actor: { type: 'anonymous' as const, id: null },
      outcome: { result: 'denied' as const, code: 'invalid_credentials' },
    }
    const { input: arrived, at, ticket } = unpack(structuredClone(pack(input, 5)))
    expect(at).toBe(5)
    expect(ticket).toBeUndefined()
    expect(arrived).not.toHaveProperty('details')
    expect(arrived).toMatchObject({ ...input, target: undefined, requestId: undefined })
    expect(arrived.client).toEqual({ address: undefined, userAgent: undefined })
  })

  it('share one actor object per principal', () => {
    expect(actorOf(principal)).toBe(actorOf(principal))
    expect(Object.isFrozen(actorOf(principal))).toBe(true)
    expect(actorOf(principal)).toEqual({ type: 'token', id: 'tok_1', name: 'ci' })
  })
})
