import { describe, expect, it } from 'vitest'
import { planReminders, type ReminderSubject } from '../../src/domain/reminders.ts'

const DAY = 86_400_000
const t0 = Date.parse('2027-01-01T00:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const policy = { unusedAfterDays: 90 }

/** Runs the scheduler's loop by hand: at each due time, fire and store what was sent. */
function fireAll(subject: ReminderSubject, until: number) {
  const fired: Array<{ at: number; type: string; daysLeft?: unknown }> = []
  let current = { ...subject }
  let now = t0
  for (let i = 0; i < 100; i++) {
    const plan = planReminders(current, now, policy)
    for (const r of plan.fire) fired.push({ at: now, type: r.type, daysLeft: r.data.daysLeft })
    current = { ...current, remindersSent: plan.sent }
    if (!plan.nextDueAt || Date.parse(plan.nextDueAt) > until) break
    now = Date.parse(plan.nextDueAt)
  }
  return fired
}

describe('planReminders', () => {
  it('fires each expiry threshold once, at 30, 7 and 1 days', () => {
    const key: ReminderSubject = {
      kind: 'key',
      id: 'key_1',
      name: 'stripe',
      createdAt: iso(t0),
      lastUsedAt: iso(t0 + 60 * DAY),
      expiresAt: iso(t0 + 60 * DAY),
    }
    const fired = fireAll(key, t0 + 60 * DAY)
    expect(fired).toEqual([
      { at: t0 + 30 * DAY, type: 'key.expiring', daysLeft: 30 },
      { at: t0 + 53 * DAY, type: 'key.expiring', daysLeft: 7 },
      { at: t0 + 59 * DAY, type: 'key.expiring', daysLeft: 1 },
    ])
  })

  it('fires only the most urgent of thresholds crossed at once, and nothing again', () => {
    const key: ReminderSubject = {
      kind: 'key',
      id: 'key_1',
      name: 'k',
      createdAt: iso(t0),
      expiresAt: iso(t0 + 5 * DAY),
    }
    const first = planReminders(key, t0, policy)
    expect(first.fire.map((r) => r.data.daysLeft)).toEqual([7])
    const again = planReminders({ ...key, remindersSent: first.sent }, t0 + 1000, policy)
    expect(again.fire).toEqual([])
    expect(again.nextDueAt).toBe(iso(t0 + 4 * DAY))
  })

  it('reminds of a due replacement, and of a key or token unused for N days', () => {
    const key: ReminderSubject = {
      kind: 'key',
      id: 'key_1',
      name: 'k',
      createdAt: iso(t0),
      rotationDueAt: iso(t0 + 30 * DAY),
      rotateEveryDays: 30,
    }
    expect(fireAll(key, t0 + 100 * DAY).map((f) => [f.type, (f.at - t0) / DAY])).toEqual([
      ['key.rotation_due', 30],
      ['key.unused', 90],
    ])
    // Used since: the unused reminder counts from the last use.
    const used = planReminders({ ...key, lastUsedAt: iso(t0 + 50 * DAY) }, t0 + 91 * DAY, policy)
    expect(used.fire.map((r) => r.type)).toEqual(['key.rotation_due'])
    expect(used.nextDueAt).toBe(iso(t0 + 140 * DAY))
  })

  it('stops for revoked and expired tokens', () => {
    const token: ReminderSubject = {
      kind: 'token',
      id: 'tok_1',
      name: 'ci',
      createdAt: iso(t0),
      expiresAt: iso(t0 + 10 * DAY),
    }
    expect(planReminders(token, t0, policy).fire.map((r) => r.type)).toEqual(['token.expiring'])
    expect(planReminders({ ...token, revokedAt: iso(t0) }, t0, policy)).toEqual({
      fire: [],
      sent: [],
    })
    expect(planReminders(token, t0 + 11 * DAY, policy).nextDueAt).toBeUndefined()
  })
})
