import type { Hono } from 'hono'
import type { DeviceLogin } from '../../domain/device-login.ts'
import { isAppError } from '../../errors.ts'
import { auditDeviceDecision } from '../device-audit.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf } from './form.ts'
import { DeviceCodePage, DeviceConfirmPage, DeviceDonePage } from './pages/device.tsx'
import { frameOf, render } from './render.ts'

/** Device login, the person's side: type the code, see the device, approve or deny. */
export function registerDevicePages(
  router: Hono<DashboardEnv>,
  { audit }: Pick<DashboardDeps, 'audit'>,
  { session }: PageKit,
  { deviceLogin }: { deviceLogin: DeviceLogin },
) {
  router.get('/device', session, (c) => render(c, <DeviceCodePage frame={frameOf(c)} />))

  router.post('/device', session, async (c) => {
    const code = (await formOf(c)).get('code') ?? ''
    try {
      const device = await deviceLogin.lookup(c.get('principal'), code)
      return render(c, <DeviceConfirmPage frame={frameOf(c)} device={device} />)
    } catch (error) {
      if (!isAppError(error) || error.status !== 404) throw error
      return render(c, <DeviceCodePage frame={frameOf(c)} error={error.detail} />, 404)
    }
  })

  for (const [path, approve] of [
    ['/device/approve', true],
    ['/device/deny', false],
  ] as const) {
    router.post(path, session, async (c) => {
      const code = (await formOf(c)).get('code') ?? ''
      const device = await deviceLogin.decide(c.get('principal'), code, approve)
      await auditDeviceDecision(c, audit, approve, device)
      return render(c, <DeviceDonePage frame={frameOf(c)} approved={approve} />)
    })
  }
}
