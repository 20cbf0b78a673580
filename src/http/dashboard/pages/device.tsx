import type { describeDeviceLogin } from '../../../domain/device-login.ts'
import { Page, When } from './layout.tsx'

type Frame = { nonce: string; csrf: string; organization?: string | undefined }
type Device = ReturnType<typeof describeDeviceLogin>

/** The code the command line shows is typed here: it is never part of a link. */
export function DeviceCodePage({ frame, error }: { frame: Frame; error?: string | undefined }) {
  return (
    <Page title="Sign in a device" {...frame}>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action="/device" class="card narrow">
        <input type="hidden" name="csrf" value={frame.csrf} />
        <label for="code">Code shown by the command line</label>
        <input id="code" name="code" required autocomplete="off" placeholder="XXXX-XXXX" />
        <button type="submit">Continue</button>
      </form>
    </Page>
  )
}

/** What asks to be signed in, before the person decides. */
export function DeviceConfirmPage({ frame, device }: { frame: Frame; device: Device }) {
  return (
    <Page title="Approve this device?" {...frame}>
      <div class="card">
        <p>
          A device asks to be signed in as you, in this organization, with the code{' '}
          <code>{device.userCode}</code>. Approve only if you started it.
        </p>
        <dl>
          <dt>Address</dt>
          <dd id="device-address">{device.clientAddress ?? 'unknown'}</dd>
          <dt>Host (as the device describes itself)</dt>
          <dd id="device-host">{device.clientHost ?? 'not given'}</dd>
          <dt>Program</dt>
          <dd>{device.userAgent ?? 'unknown'}</dd>
          <dt>Asked</dt>
          <dd>
            <When at={device.requestedAt} />
          </dd>
        </dl>
        <div class="actions">
          <form method="post" action="/device/approve">
            <input type="hidden" name="csrf" value={frame.csrf} />
            <input type="hidden" name="code" value={device.userCode} />
            <button type="submit">Approve</button>
          </form>
          <form method="post" action="/device/deny">
            <input type="hidden" name="csrf" value={frame.csrf} />
            <input type="hidden" name="code" value={device.userCode} />
            <button type="submit" class="secondary">
              Deny
            </button>
          </form>
        </div>
      </div>
    </Page>
  )
}

export function DeviceDonePage({ frame, approved }: { frame: Frame; approved: boolean }) {
  return (
    <Page title={approved ? 'Device signed in' : 'Device denied'} {...frame}>
      <p class="card" role="status">
        {approved
          ? 'The device is signed in. Return to your terminal.'
          : 'The device was not signed in.'}
      </p>
    </Page>
  )
}
