import type { EventData, EventType } from '../events/catalog.ts'

const DAY_MS = 86_400_000

/** Days before an expiry at which a reminder fires, once each. */
export const EXPIRY_THRESHOLDS_DAYS = [30, 7, 1] as const

/** What reminders look at, of a stored key or access token. */
export interface ReminderSubject {
  kind: 'key' | 'token'
  id: string
  name: string | null
  createdAt: string
  expiresAt?: string
  rotationDueAt?: string
  rotateEveryDays?: number
  lastUsedAt?: string
  revokedAt?: string
  /** Markers of the reminders already sent (see `markers` below). */
  remindersSent?: string[]
}

export interface Reminder {
  type: EventType
  data: EventData
}

export interface ReminderPlan {
  /** What is due now and not sent yet: one event each. */
  fire: Reminder[]
  /** The markers to store: what was sent before and still applies, plus what fires now. */
  sent: string[]
  /** When to look again; undefined when nothing more can fall due. */
  nextDueAt?: string
}

/**
 * Which reminders a key or token is due at `now`, and when it is next due. A pure function:
 * the scheduler stores `sent` in the same conditional write as the events it fires, so each
 * reminder fires once per threshold, whichever instance gets there. A marker names the date
 * it was computed from, so changing an expiry (or using a key again) starts afresh. Several
 * thresholds crossed at once (a key stored 5 days before its expiry) fire one reminder, the
 * most urgent.
 */
export function planReminders(
  subject: ReminderSubject,
  now: number,
  { unusedAfterDays }: { unusedAfterDays: number },
): ReminderPlan {
  const previously = new Set(subject.remindersSent ?? [])
  const sent: string[] = []
  const fire: Reminder[] = []
  const upcoming: number[] = []
  const ids: EventData =
    subject.kind === 'key'
      ? { keyId: subject.id, name: subject.name }
      : { tokenId: subject.id, name: subject.name }

  const expiresAt = subject.expiresAt ? Date.parse(subject.expiresAt) : undefined
  // A revoked or expired token has nothing more to be reminded of.
  if (subject.kind === 'token' && (subject.revokedAt || (expiresAt && expiresAt <= now)))
    return { fire, sent }

  if (subject.expiresAt && expiresAt !== undefined && expiresAt > now) {
    let mostUrgent: number | undefined
    for (const days of EXPIRY_THRESHOLDS_DAYS) {
      const marker = `expiring:${subject.expiresAt}:${days}`
      const at = expiresAt - days * DAY_MS
      if (at > now) upcoming.push(at)
      else {
        sent.push(marker)
        if (!previously.has(marker)) mostUrgent = days
      }
    }
    if (mostUrgent !== undefined) {
      fire.push({
        type: subject.kind === 'key' ? 'key.expiring' : 'token.expiring',
        data: { ...ids, expiresAt: subject.expiresAt, daysLeft: mostUrgent },
      })
    }
  }

  if (subject.kind === 'key' && subject.rotationDueAt) {
    const marker = `rotation:${subject.rotationDueAt}`
    const at = Date.parse(subject.rotationDueAt)
    if (at > now) upcoming.push(at)
    else {
      sent.push(marker)
      if (!previously.has(marker)) {
        fire.push({
          type: 'key.rotation_due',
          data: {
            ...ids,
            rotationDueAt: subject.rotationDueAt,
            rotateEveryDays: subject.rotateEveryDays ?? null,
          },
        })
      }
    }
  }

  const lastActive = subject.lastUsedAt ?? subject.createdAt
  const marker = `unused:${lastActive}`
  const unusedAt = Date.parse(lastActive) + unusedAfterDays * DAY_MS
  if (unusedAt > now) upcoming.push(unusedAt)
  else {
    sent.push(marker)
    if (!previously.has(marker)) {
      fire.push({
        type: subject.kind === 'key' ? 'key.unused' : 'token.unused',
        data: { ...ids, lastUsedAt: subject.lastUsedAt ?? null, unusedForDays: unusedAfterDays },
      })
    }
  }

  const next = upcoming.length ? Math.min(...upcoming) : undefined
  return { fire, sent, ...(next !== undefined ? { nextDueAt: new Date(next).toISOString() } : {}) }
}
