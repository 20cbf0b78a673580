import type { KmsRotationStatus } from '../kms/rotation-status.ts'

const DAY = 86_400_000
/** How long before raw material's period ends the tenant is reminded to supply new material. */
export const RAW_REMINDER_DAYS = 30

/**
 * Raw key material cannot rotate itself: only the tenant can supply new material. It is given
 * the organization's re-keying period as its cryptoperiod, counted from when it was set, and
 * the reminder opens `RAW_REMINDER_DAYS` before the end (or half-way, for shorter periods).
 * Undefined when the period is 0 (no schedule, no reminder).
 */
export function rawMaterialPeriod(setAt: string, periodDays: number) {
  if (periodDays <= 0 || !setAt) return undefined
  const end = Date.parse(setAt) + periodDays * DAY
  const lead = Math.min(RAW_REMINDER_DAYS * DAY, (periodDays * DAY) / 2)
  return { replaceBy: new Date(end).toISOString(), remindFrom: new Date(end - lead).toISOString() }
}

/** What the encryption view says about the KEK's own rotation, for each kind of KEK. */
export function describeKekRotation(input: {
  provider: 'platform' | 'aws-kms' | 'raw'
  kms?: KmsRotationStatus
  raw?: { setAt: string; periodDays: number; now: number }
}) {
  const period = input.raw ? rawMaterialPeriod(input.raw.setAt, input.raw.periodDays) : undefined
  return {
    automatic: input.kms?.automatic ?? null,
    rotationPeriodInDays: input.kms?.rotationPeriodInDays ?? null,
    nextRotationAt: input.kms?.nextRotationAt ?? null,
    unknownBecause: input.kms?.unknownBecause ?? null,
    replaceMaterialBy: period?.replaceBy ?? null,
    materialRotationDue:
      period !== undefined &&
      input.raw !== undefined &&
      input.raw.now >= Date.parse(period.remindFrom),
  }
}
