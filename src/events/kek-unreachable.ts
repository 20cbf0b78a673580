import type { ValueCipher } from '../crypto/value-cipher.ts'
import { isAppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import type { KekAlertStore } from '../storage/kek-alerts.ts'
import { newEvent } from './new-event.ts'

/** What says a tenant's key is out of reach (revoked, disabled, deleted), not just busy. */
const UNREACHABLE = new Set([
  'kek_access_denied',
  'kek_disabled',
  'kek_pending_deletion',
  'kek_not_found',
])

/**
 * The value cipher, telling the tenant (`encryption.key_unreachable`) when its own KMS key
 * stops working: the revocation case of bring-your-own-key. The report is not awaited and
 * its own failure is logged, so the caller sees exactly the error it would have seen.
 */
export function reportUnreachableKeks(
  cipher: ValueCipher,
  {
    alerts,
    clock,
    logger,
    onEvent,
  }: { alerts: KekAlertStore; clock: Clock; logger: Logger; onEvent: () => void },
): ValueCipher {
  const report = (tenantId: string, error: unknown) => {
    if (!isAppError(error) || !UNREACHABLE.has(error.code)) return
    const now = clock.now()
    alerts
      .raise(
        newEvent(
          tenantId,
          'encryption.key_unreachable',
          { organizationId: tenantId, code: error.code },
          now,
        ),
        now,
      )
      .then(
        (raised) => {
          if (raised) onEvent()
        },
        (failure: unknown) =>
          logger.warn(
            { tenantId, error: (failure as Error).message },
            'key-unreachable event not written',
          ),
      )
  }
  return {
    ...cipher,
    async seal(place, plaintext) {
      try {
        return await cipher.seal(place, plaintext)
      } catch (error) {
        report(place.tenantId, error)
        throw error
      }
    },
    // Not async: a value opened with a cached data key stays synchronous.
    open(place, record) {
      let opened: ReturnType<ValueCipher['open']>
      try {
        opened = cipher.open(place, record)
      } catch (error) {
        report(place.tenantId, error)
        throw error
      }
      if (!(opened instanceof Promise)) return opened
      return opened.catch((error: unknown) => {
        report(place.tenantId, error)
        throw error
      })
    },
  }
}
