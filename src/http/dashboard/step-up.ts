import { decodeJwt } from 'jose'
import { AppError } from '../../errors.ts'

/** How long a password check lasts for sensitive actions (revealing a value, encryption). */
export const STEP_UP_SECONDS = 5 * 60

/**
 * Sensitive actions need a password check newer than a few minutes. A check is a sign-in or a
 * step-up, and each issues a new session, so the session's issue time is the last check.
 * The token was verified before this runs; only its `iat` is read here.
 */
export function requireRecentCheck(sessionToken: string, nowMs: number): void {
  const { iat } = decodeJwt(sessionToken)
  if (typeof iat === 'number' && nowMs - iat * 1000 <= STEP_UP_SECONDS * 1000) return
  throw new AppError(
    'step_up_required',
    'Enter your password again: this action needs a check newer than five minutes.',
    { extra: { maxAgeSeconds: STEP_UP_SECONDS } },
  )
}

/** Where to go after a form post: only a path of this server, never another origin. */
export function localPath(next: string | null, fallback = '/'): string {
  return next && /^\/(?![/\\])/.test(next) ? next : fallback
}
