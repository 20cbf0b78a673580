import { Secret, TOTP } from 'otpauth'

/** RFC 6238 as every authenticator app reads it: SHA-1, six digits, 30-second steps. */
const PERIOD_SECONDS = 30
const DIGITS = 6
/** One step either side: a phone clock a little off, or a code typed as it changed. */
const SKEW_STEPS = 1

export interface TotpEnrolment {
  /** Base32, as typed into an app by hand. Shown once, then only its sealed form is kept. */
  secret: string
  /** The `otpauth://` URI a QR code carries. */
  uri: string
}

/** A new 160-bit seed (RFC 4226's recommended length) and the URI that carries it. */
export function newTotpEnrolment(account: string, issuer: string): TotpEnrolment {
  const secret = new Secret({ size: 20 }).base32
  return { secret, uri: totpFor(secret, account, issuer).toString() }
}

function totpFor(secret: string, label = 'keystash', issuer = 'Keystash'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(secret),
  })
}

/**
 * The time step a code belongs to, within the skew window around `nowMs`, or undefined. The
 * caller accepts the code only if that step is later than the last one used, so a code (or
 * any older one) works once.
 */
export function totpStepOf(secret: string, code: string, nowMs: number): number | undefined {
  const token = code.replace(/\s+/g, '')
  if (!/^\d{6}$/.test(token)) return undefined
  const delta = totpFor(secret).validate({ token, timestamp: nowMs, window: SKEW_STEPS })
  if (delta === null) return undefined
  return Math.floor(nowMs / 1000 / PERIOD_SECONDS) + delta
}

/** The code of a step (tests and the operator's own checks; the server never shows one). */
export function totpCodeAt(secret: string, nowMs: number): string {
  return totpFor(secret).generate({ timestamp: nowMs })
}
