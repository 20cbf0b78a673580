import { describe, expect, it } from 'vitest'
import { expiringWithin, replacementDue, unusedFor } from '../../src/http/dashboard/review.ts'
import { localPath } from '../../src/http/dashboard/step-up.ts'

const DAY = 86400_000
const now = Date.parse('2026-12-06T12:00:00Z')
const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString()

describe('unusedFor', () => {
  const items = [
    { id: 'used-yesterday', createdAt: at(200), lastUsedAt: at(1), revokedAt: null },
    { id: 'used-40-days-ago', createdAt: at(200), lastUsedAt: at(40), revokedAt: null },
    { id: 'never-used-old', createdAt: at(100), lastUsedAt: null, revokedAt: null },
    { id: 'never-used-new', createdAt: at(2), lastUsedAt: null, revokedAt: null },
    { id: 'revoked', createdAt: at(300), lastUsedAt: null, revokedAt: at(5) },
  ]
  it('lists items last used (or, never used, created) before the cutoff, not revoked ones', () => {
    expect(unusedFor(items, 30, now).map((i) => i.id)).toEqual([
      'used-40-days-ago',
      'never-used-old',
    ])
    expect(unusedFor(items, 90, now).map((i) => i.id)).toEqual(['never-used-old'])
  })
})

describe('expiringWithin', () => {
  it('lists live tokens expiring inside the window, not expired or revoked ones', () => {
    const tokens = [
      { id: 'in-3-days', expiresAt: at(-3), revokedAt: null },
      { id: 'in-8-days', expiresAt: at(-8), revokedAt: null },
      { id: 'expired', expiresAt: at(1), revokedAt: null },
      { id: 'revoked', expiresAt: at(-1), revokedAt: at(1) },
    ]
    expect(expiringWithin(tokens, 7, now).map((t) => t.id)).toEqual(['in-3-days'])
  })
})

describe('replacementDue', () => {
  it('lists keys past their replacement date or expiring within the window', () => {
    const keys = [
      { id: 'overdue', rotationDueAt: at(2), expiresAt: null },
      { id: 'due-later', rotationDueAt: at(-10), expiresAt: null },
      { id: 'expires-in-20-days', rotationDueAt: null, expiresAt: at(-20) },
      { id: 'expires-in-40-days', rotationDueAt: null, expiresAt: at(-40) },
      { id: 'expired', rotationDueAt: null, expiresAt: at(1) },
      { id: 'no-lifetime', rotationDueAt: null, expiresAt: null },
    ]
    expect(replacementDue(keys, 30, now).map((k) => k.id)).toEqual([
      'overdue',
      'expires-in-20-days',
      'expired',
    ])
  })
})

describe('localPath', () => {
  it('keeps paths of this server and refuses anything that leaves it', () => {
    expect(localPath('/keys/key_1')).toBe('/keys/key_1')
    for (const hostile of ['//evil.example', '/\\evil.example', 'https://evil.example', '', null]) {
      expect(localPath(hostile)).toBe('/')
    }
  })
})
