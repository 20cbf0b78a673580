import type { Context } from 'hono'
import type { describeDeviceLogin } from '../domain/device-login.ts'
import { auditSuccess, type RequestAudit } from './audit.ts'
import type { AppEnv } from './env.ts'

/** `auth.device.approve` / `auth.device.deny`: who decided, for which client, from where. */
export function auditDeviceDecision(
  c: Context<AppEnv>,
  audit: RequestAudit,
  approved: boolean,
  device: ReturnType<typeof describeDeviceLogin>,
) {
  const principal = c.get('principal')
  return auditSuccess(c, audit, {
    action: approved ? 'auth.device.approve' : 'auth.device.deny',
    target: { type: 'user', id: principal.userId ?? principal.tokenId },
    details: {
      deviceAddress: device.clientAddress,
      deviceHost: device.clientHost,
      deviceUserAgent: device.userAgent,
      requestedAt: device.requestedAt,
    },
  })
}
