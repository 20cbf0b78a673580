import { describe, expect, it, vi } from 'vitest'
import { issueToken, verifyToken } from '../../src/auth/jwt.ts'
import {
  createInMemorySigningKeySealer,
  createInMemorySigningKeyStore,
} from '../../src/auth/signing-key-store.ts'
import { createSigningKeyRing } from '../../src/auth/signing-keys.ts'
import { createVerifiedTokenMemo, hashToken } from '../../src/auth/token-memo.ts'

// A remembered token is answered at once (and refused at once): as a promise here either way.
const verified = async (...args: Parameters<typeof verifyToken>) => verifyToken(...args)

const ISSUER = 'https://keystash.test'
const AUDIENCE = 'keystash'

async function setup(maxEntries = 100) {
  let now = Date.UTC(2030, 0, 1)
  const clock = { now: () => now }
  const ring = await createSigningKeyRing({
    store: createInMemorySigningKeyStore(),
    sealer: createInMemorySigningKeySealer(),
    clock,
    maxTokenLifetimeSeconds: 3600,
  })
  // Counting key look-ups counts signature checks: jose resolves the key for each one.
  const counted = { ...ring, publicKey: vi.fn(ring.publicKey) }
  const memo = createVerifiedTokenMemo({ maxEntries })
  const options = { issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 0, memo }
  const issue = (tokenId: string, lifetimeSeconds = 600) =>
    issueToken(ring, {
      issuer: ISSUER,
      audience: AUDIENCE,
      kind: 'session',
      tokenId,
      tenantId: 'org_1',
      subject: 'usr_1',
      scopes: ['keys:list'],
      expiresAt: new Date(now + lifetimeSeconds * 1000),
    })
  const advance = (seconds: number) => {
    now += seconds * 1000
  }
  return { ring: counted, memo, options, issue, advance }
}

describe('verified-token memo', () => {
  it('skips the signature check for a token it has verified, returning the same principal', async () => {
    const { ring, memo, options, issue } = await setup()
    const token = await issue('tok_1')
    const first = await verified(ring, token, options)
    const second = await verified(ring, token, options)
    expect(ring.publicKey).toHaveBeenCalledTimes(1)
    expect(second).toBe(first)
    expect(Object.isFrozen(second)).toBe(true)
    expect(memo.size).toBe(1)
  })

  it('keys entries by a hash, never by the token itself', async () => {
    const { ring, memo, options, issue } = await setup()
    const token = await issue('tok_1')
    await verified(ring, token, options)
    expect(memo.get(token)).toBeUndefined()
    expect(memo.get(hashToken(token))).toBeDefined()
  })

  it('does not serve a remembered token past its expiry', async () => {
    const { ring, memo, options, issue, advance } = await setup()
    const token = await issue('tok_1', 60)
    await verified(ring, token, options)
    advance(59)
    await expect(verified(ring, token, options)).resolves.toBeDefined()
    advance(1)
    await expect(verified(ring, token, options)).rejects.toMatchObject({ code: 'token_expired' })
    expect(ring.publicKey).toHaveBeenCalledTimes(1)
    expect(memo.size).toBe(0)
  })

  it('does not let a token remembered for one audience pass for another', async () => {
    const { ring, options, issue } = await setup()
    const token = await issue('tok_1')
    await verified(ring, token, options)
    const other = { ...options, audience: 'another-api' }
    await expect(verified(ring, token, other)).rejects.toMatchObject({ code: 'invalid_token' })
  })

  it('never remembers a rejected token', async () => {
    const { ring, memo, options, issue } = await setup()
    const [header, payload] = (await issue('tok_1')).split('.')
    const forged = `${header}.${payload}.${'A'.repeat(86)}`
    await expect(verified(ring, forged, options)).rejects.toMatchObject({
      code: 'invalid_token',
    })
    await expect(verified(ring, forged, options)).rejects.toMatchObject({
      code: 'invalid_token',
    })
    expect(memo.size).toBe(0)
  })

  it('holds at most maxEntries, evicting the least recently used', async () => {
    const { ring, memo, options, issue } = await setup(2)
    const [a, b, c] = await Promise.all([issue('a'), issue('b'), issue('c')])
    if (a === undefined || b === undefined || c === undefined) throw new Error('no tokens')
    await verified(ring, a, options)
    await verified(ring, b, options)
    await verified(ring, a, options) // a is now the most recently used
    await verified(ring, c, options) // evicts b
    expect(memo.size).toBe(2)
    expect(ring.publicKey).toHaveBeenCalledTimes(3)
    await verified(ring, a, options)
    expect(ring.publicKey).toHaveBeenCalledTimes(3)
    await verified(ring, b, options)
    expect(ring.publicKey).toHaveBeenCalledTimes(4)
  })

  it('refuses a non-positive size', () => {
    expect(() => createVerifiedTokenMemo({ maxEntries: 0 })).toThrow()
  })
})
