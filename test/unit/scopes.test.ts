import { describe, expect, it } from 'vitest'
import type { Grant } from '../../src/auth/principal.ts'
import {
  assertSubset,
  keyAllowed,
  keyRestrictionSchema,
  requireKeyAccess,
  requireScope,
  SCOPES,
  type Scope,
  scopeSchema,
} from '../../src/auth/scopes.ts'
import { AppError } from '../../src/errors.ts'

const openaiProd = { id: 'k_01', name: 'openai-prod' }

function caught(fn: () => void): AppError {
  try {
    fn()
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected an AppError')
}

describe('scope list', () => {
  it('has exactly the nine scopes, and the schema refuses others', () => {
    expect(SCOPES).toEqual([
      'keys:read',
      'keys:list',
      'keys:write',
      'tokens:write',
      'audit:read',
      'org:read',
      'org:write',
      'mock:write',
      'encryption:write',
    ])
    expect(scopeSchema.safeParse('org:admin').success).toBe(false)
    expect(scopeSchema.safeParse('keys:read').success).toBe(true)
    expect(scopeSchema.safeParse('keys:*').success).toBe(false)
  })
})

describe('requireScope', () => {
  it('passes when the scope is held', () => {
    expect(() => requireScope({ scopes: ['keys:read'] }, 'keys:read')).not.toThrow()
  })

  it('throws insufficient_scope naming the missing scope', () => {
    const error = caught(() => requireScope({ scopes: ['keys:list', 'org:write'] }, 'keys:read'))
    expect(error.code).toBe('insufficient_scope')
    expect(error.status).toBe(403)
    expect(error.detail).toContain('keys:read')
    expect(error.extra).toEqual({ requiredScope: 'keys:read' })
    expect(error.headers['WWW-Authenticate']).toContain('insufficient_scope')
  })
})

describe('keyAllowed', () => {
  it('allows every key when unrestricted', () => {
    expect(keyAllowed(undefined, openaiProd)).toBe(true)
  })

  it('allows no key with an empty list', () => {
    expect(keyAllowed([], openaiProd)).toBe(false)
  })

  it('matches an exact entry by name or by id, and nothing else', () => {
    expect(keyAllowed(['openai-prod'], openaiProd)).toBe(true)
    expect(keyAllowed(['k_01'], openaiProd)).toBe(true)
    expect(keyAllowed(['openai'], openaiProd)).toBe(false)
    expect(keyAllowed(['openai-prod-2'], openaiProd)).toBe(false)
  })

  it('matches a trailing * as a prefix', () => {
    expect(keyAllowed(['openai-*'], openaiProd)).toBe(true)
    expect(keyAllowed(['openai-prod*'], openaiProd)).toBe(true)
    expect(keyAllowed(['stripe-*'], openaiProd)).toBe(false)
    expect(keyAllowed(['*'], openaiProd)).toBe(true)
  })

  it('matches when any entry matches', () => {
    expect(keyAllowed(['stripe-*', 'k_01'], openaiProd)).toBe(true)
  })

  it('accepts * only as the last character of an entry', () => {
    expect(keyRestrictionSchema.safeParse('openai-*').success).toBe(true)
    expect(keyRestrictionSchema.safeParse('open*ai').success).toBe(false)
    expect(keyRestrictionSchema.safeParse('').success).toBe(false)
  })

  it('requireKeyAccess answers a key outside the restriction like a missing one (404)', () => {
    expect(() => requireKeyAccess({ keys: ['openai-*'] }, openaiProd)).not.toThrow()
    const error = caught(() => requireKeyAccess({ keys: ['stripe-*'] }, openaiProd))
    expect(error.code).toBe('not_found')
    expect(error.detail).toBe('No such key.')
  })
})

describe('assertSubset', () => {
  const expiresAt = new Date('2030-01-02T00:00:00Z')
  const access = (over: Partial<Grant> = {}): Grant => ({
    kind: 'access',
    scopes: ['keys:read', 'keys:list', 'tokens:write'],
    environment: 'production',
    expiresAt,
    ...over,
  })
  const session = (over: Partial<Grant> = {}): Grant => ({
    kind: 'session',
    scopes: ['keys:read', 'keys:list', 'tokens:write', 'org:write'],
    expiresAt,
    ...over,
  })
  const escalation = (parent: Grant, child: Grant) => {
    const error = caught(() => assertSubset(parent, child))
    expect(error.code).toBe('scope_escalation')
    return error
  }

  it('allows an identical grant and a strictly smaller one', () => {
    expect(() => assertSubset(access(), access())).not.toThrow()
    const smaller = access({ scopes: ['keys:read'], expiresAt: new Date('2030-01-01T00:00:00Z') })
    expect(() => assertSubset(access(), smaller)).not.toThrow()
    expect(() => assertSubset(access(), access({ scopes: [] }))).not.toThrow()
  })

  describe('scopes', () => {
    it('refuses a scope the parent lacks, naming it', () => {
      const scopes: Scope[] = ['keys:read', 'keys:write', 'audit:read']
      const error = escalation(access(), access({ scopes }))
      expect(error.detail).toContain('keys:write, audit:read')
      expect(error.extra).toEqual({ exceeded: ['scopes'] })
    })
  })

  describe('key restrictions', () => {
    it('allows anything under an unrestricted parent, including no restriction', () => {
      expect(() => assertSubset(access(), access({ keys: ['x-*', 'y'] }))).not.toThrow()
      expect(() => assertSubset(access(), access({ keys: undefined }))).not.toThrow()
    })

    it('refuses an unrestricted child under a restricted parent', () => {
      const error = escalation(access({ keys: ['openai-*'] }), access())
      expect(error.extra).toEqual({ exceeded: ['keys'] })
    })

    it('allows an empty child list under any parent', () => {
      expect(() => assertSubset(access({ keys: ['openai-*'] }), access({ keys: [] }))).not.toThrow()
      expect(() => assertSubset(access({ keys: [] }), access({ keys: [] }))).not.toThrow()
    })

    it('lets a prefix allow exact names and longer prefixes under it', () => {
      const parent = access({ keys: ['openai-*'] })
      expect(() => assertSubset(parent, access({ keys: ['openai-prod'] }))).not.toThrow()
      expect(() => assertSubset(parent, access({ keys: ['openai-prod-*'] }))).not.toThrow()
      expect(() => assertSubset(parent, access({ keys: ['openai-*'] }))).not.toThrow()
    })

    it('refuses a shorter prefix or an unrelated entry under a prefix', () => {
      const parent = access({ keys: ['openai-*'] })
      expect(escalation(parent, access({ keys: ['open*'] })).detail).toContain('open*')
      expect(escalation(parent, access({ keys: ['*'] })).detail).toContain('*')
      escalation(parent, access({ keys: ['stripe-live'] }))
      escalation(parent, access({ keys: ['openai'] }))
    })

    it('lets an exact entry allow only itself', () => {
      const parent = access({ keys: ['openai-prod'] })
      expect(() => assertSubset(parent, access({ keys: ['openai-prod'] }))).not.toThrow()
      escalation(parent, access({ keys: ['openai-prod*'] }))
      escalation(parent, access({ keys: ['openai-prod-2'] }))
      escalation(parent, access({ keys: ['k_01'] }))
    })

    it('needs every child entry covered by some parent entry', () => {
      const parent = access({ keys: ['openai-*', 'stripe-live'] })
      const covered = access({ keys: ['stripe-live', 'openai-dev'] })
      expect(() => assertSubset(parent, covered)).not.toThrow()
      const error = escalation(parent, access({ keys: ['stripe-live', 'twilio-live'] }))
      expect(error.detail).toContain('twilio-live')
      expect(error.detail).not.toContain('stripe-live')
    })
  })

  describe('environment', () => {
    it('holds an access token to its own environment', () => {
      const error = escalation(access(), access({ environment: 'staging' }))
      expect(error.extra).toEqual({ exceeded: ['environment'] })
      expect(error.detail).toContain('production')
      escalation(access(), access({ environment: undefined }))
    })

    it('lets a session mint for any environment', () => {
      for (const environment of ['development', 'staging', 'production'] as const) {
        expect(() => assertSubset(session(), access({ environment }))).not.toThrow()
      }
    })

    it('refuses a session minted by an access token, allows one minted by a session', () => {
      const error = escalation(access(), session({ scopes: ['keys:read'] }))
      expect(error.extra).toEqual({ exceeded: ['kind'] })
      expect(() => assertSubset(session(), session({ scopes: ['keys:read'] }))).not.toThrow()
    })
  })

  describe('expiry', () => {
    it('allows the same expiry and refuses a later one by even a second', () => {
      expect(() => assertSubset(access(), access({ expiresAt: new Date(expiresAt) }))).not.toThrow()
      const later = new Date(expiresAt.getTime() + 1000)
      expect(escalation(access(), access({ expiresAt: later })).extra).toEqual({
        exceeded: ['expiresAt'],
      })
    })

    it('lets a session (the person) mint beyond its own expiry; the server maximum bounds it', () => {
      const later = new Date(expiresAt.getTime() + 90 * 86_400_000)
      expect(() =>
        assertSubset(session(), access({ scopes: ['keys:read'], expiresAt: later })),
      ).not.toThrow()
    })
  })

  it('names everything exceeded at once', () => {
    const child = access({
      scopes: ['audit:read'],
      environment: 'staging',
      expiresAt: new Date(expiresAt.getTime() + 1000),
    })
    const error = escalation(access({ keys: ['a'] }), child)
    expect(error.extra).toEqual({ exceeded: ['scopes', 'keys', 'environment', 'expiresAt'] })
  })
})
