import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { KeystashError } from '../../../sdk/src/index.ts'
import { pollDeviceToken, requestDeviceCode, type Session } from './auth-api.ts'
import type { Context } from './context.ts'
import { note } from './context.ts'
import { CliError, EXIT } from './errors.ts'

/** RFC 8628 section 3.5: after `slow_down`, five seconds more between polls. */
const SLOW_DOWN_STEP_SECONDS = 5

/**
 * `keystash login --device`: for organizations that refuse passwords (single sign-on). The
 * server gives a code; the person types it in the dashboard, signed in there, and approves
 * this machine (shown with its address and host name). Meanwhile this polls, no faster than
 * the server asks.
 */
export async function loginWithDevice(ctx: Context, url: string): Promise<Session> {
  const code = await requestDeviceCode(url, hostname())
  const minutes = Math.max(1, Math.round(code.expires_in / 60))
  note(
    ctx,
    `To sign in, open ${code.verification_uri} in a browser where you are signed in, and enter the code ${code.user_code} (valid for ${minutes} minute${minutes === 1 ? '' : 's'}).`,
  )
  let interval = code.interval
  for (;;) {
    await delay(interval * 1000)
    try {
      return await pollDeviceToken(url, code.device_code)
    } catch (error) {
      if (!(error instanceof KeystashError)) throw error
      switch (error.code) {
        case 'device_authorization_pending':
          continue
        case 'device_slow_down': {
          const asked = (error.problem as { interval?: unknown } | undefined)?.interval
          interval = typeof asked === 'number' ? asked : interval + SLOW_DOWN_STEP_SECONDS
          continue
        }
        case 'device_access_denied':
          throw new CliError('the sign-in was denied in the browser', EXIT.authentication)
        case 'device_code_expired':
          throw new CliError(
            'the code expired before it was approved: run `keystash login --device` again',
            EXIT.authentication,
          )
        default:
          throw error
      }
    }
  }
}
