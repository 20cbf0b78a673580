import { createHash, randomBytes, randomInt } from 'node:crypto'
import type { Principal } from '../auth/principal.ts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'
import type { DeviceLoginRecord, DeviceLoginRepository } from '../storage/device-logins.ts'
import type { SessionIssuer } from './session-issuer.ts'

/** Consonants only (RFC 8628 section 6.1): no vowels to spell words, nothing to misread. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
const USER_CODE_LENGTH = 8
/** RFC 8628 section 3.5: each `slow_down` adds five seconds to the interval. */
const SLOW_DOWN_STEP = 5

export const deviceHashOf = (deviceCode: string) =>
  createHash('sha256').update(`keystash-device\0${deviceCode}`).digest('base64url')

/** `bcdf-ghjk`, `BCDFGHJK` and `BCDF GHJK` all name the same code. */
export function normalizeUserCode(text: string): string {
  return text.toUpperCase().replace(/[^A-Z]/g, '')
}

export const formatUserCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`

export interface DeviceLoginOptions {
  /** How long a code may wait for its approval (at most ten minutes). */
  codeSeconds: number
  /** The least seconds between two polls, before any `slow_down`. */
  pollSeconds: number
  /** The longest a device's session lives (shorter than a browser session's). */
  sessionSeconds: number
}

/** What the approving person sees before deciding. */
export function describeDeviceLogin(record: DeviceLoginRecord) {
  return {
    userCode: formatUserCode(record.userCode),
    clientAddress: record.client.address,
    clientHost: record.client.host,
    userAgent: record.client.userAgent,
    requestedAt: record.createdAt,
    expiresAt: record.expiresAt,
  }
}

/**
 * Signing a command line in without a password there (RFC 8628 style): the CLI asks for a
 * device code and shows the person a user code; the person, signed in in a browser, types it
 * (it is never put in a link), sees the requesting client's address and host, and approves or
 * denies. The CLI polls, no faster than the interval, which each `slow_down` raises. The session
 * it gets belongs to the approver's person and organization and ends no later than the
 * approving session, and sooner than a browser session by default.
 */
export function createDeviceLogin(deps: {
  logins: DeviceLoginRepository
  sessions: Pick<SessionIssuer, 'issue'>
  clock: Clock
  options: DeviceLoginOptions
}) {
  const { logins, sessions, clock, options } = deps

  async function pendingByUserCode(text: string): Promise<DeviceLoginRecord> {
    const code = normalizeUserCode(text)
    const record = code.length === USER_CODE_LENGTH ? await logins.findByUserCode(code) : undefined
    if (record?.status !== 'pending' || Date.parse(record.expiresAt) <= clock.now()) {
      throw new AppError('not_found', 'No device is waiting with this code; it may have expired.')
    }
    return record
  }

  function requirePerson(principal: Principal): string {
    if (principal.kind !== 'session' || !principal.userId) {
      throw new AppError('session_required', 'A device login is approved by a person, signed in.')
    }
    return principal.userId
  }

  return {
    async request(client: DeviceLoginRecord['client']) {
      const now = new Date(clock.now())
      const expiresAt = new Date(now.getTime() + options.codeSeconds * 1000).toISOString()
      for (let attempt = 0; attempt < 5; attempt++) {
        const deviceCode = randomBytes(32).toString('base64url')
        const userCode = Array.from(
          { length: USER_CODE_LENGTH },
          () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)],
        ).join('')
        const created = await logins.create({
          deviceHash: deviceHashOf(deviceCode),
          userCode,
          client,
          createdAt: now.toISOString(),
          expiresAt,
          interval: options.pollSeconds,
          status: 'pending',
        })
        if (created) {
          return {
            deviceCode,
            userCode: formatUserCode(userCode),
            expiresIn: options.codeSeconds,
            interval: options.pollSeconds,
          }
        }
      }
      throw new AppError('conflict', 'No free user code right now; try again.')
    },

    async lookup(principal: Principal, userCode: string) {
      requirePerson(principal)
      return describeDeviceLogin(await pendingByUserCode(userCode))
    },

    async decide(principal: Principal, userCode: string, approve: boolean) {
      const userId = requirePerson(principal)
      const record = await pendingByUserCode(userCode)
      const decided = await logins.decide(
        record.deviceHash,
        approve
          ? {
              status: 'approved',
              tenantId: principal.tenantId,
              userId,
              approvedBy: principal.tokenId,
              notAfter: principal.expiresAt.toISOString(),
              // No wider than the approver's session: it has a second factor only if theirs did.
              ...(principal.mfaAt ? { mfaAt: principal.mfaAt } : {}),
            }
          : { status: 'denied' },
        new Date(clock.now()),
      )
      if (!decided) {
        throw new AppError('not_found', 'No device is waiting with this code; it may have expired.')
      }
      return describeDeviceLogin(record)
    },

    /** One poll of the device: the session once approved, else why not (RFC 8628 errors). */
    async poll(deviceCode: string) {
      const now = clock.now()
      const record = await logins.get(deviceHashOf(deviceCode))
      if (!record || record.status === 'issued') {
        throw new AppError('device_code_expired', 'This device code is unknown or already used.', {
          extra: { error: 'expired_token' },
        })
      }
      if (Date.parse(record.expiresAt) <= now) {
        throw new AppError('device_code_expired', 'The code expired before it was approved.', {
          extra: { error: 'expired_token' },
        })
      }
      const tooSoon =
        record.lastPolledAt !== undefined &&
        now - Date.parse(record.lastPolledAt) < record.interval * 1000
      const interval = tooSoon ? record.interval + SLOW_DOWN_STEP : record.interval
      await logins.polled(record.deviceHash, new Date(now), interval)
      if (tooSoon) {
        throw new AppError('device_slow_down', `Poll at most every ${interval} seconds.`, {
          extra: { error: 'slow_down', interval },
        })
      }
      if (record.status === 'denied') {
        throw new AppError('device_access_denied', 'The sign-in was denied.', {
          extra: { error: 'access_denied' },
        })
      }
      if (record.status !== 'approved' || !record.tenantId || !record.userId) {
        throw new AppError('device_authorization_pending', 'Waiting for the code to be approved.', {
          extra: { error: 'authorization_pending' },
        })
      }
      if (!(await logins.markIssued(record.deviceHash))) {
        throw new AppError('device_code_expired', 'This device code is already used.', {
          extra: { error: 'expired_token' },
        })
      }
      const notAfter = Math.min(
        now + options.sessionSeconds * 1000,
        Date.parse(record.notAfter ?? new Date(now).toISOString()),
      )
      const session = await sessions.issue(record.tenantId, record.userId, {
        notAfter: new Date(notAfter),
        mfaAt: record.mfaAt,
      })
      return {
        session: { token: session.token, expiresAt: session.expiresAt },
        tenantId: record.tenantId,
        userId: record.userId,
        sessionId: session.tokenId,
      }
    },
  }
}

export type DeviceLogin = ReturnType<typeof createDeviceLogin>
