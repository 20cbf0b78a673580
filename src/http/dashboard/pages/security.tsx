import { Page, type PageProps } from './layout.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

export interface SecurityProps {
  frame: Frame
  totp: { enabled: boolean; confirmedAt: string | null }
  passkeys: Array<{ id: string; name: string; createdAt: string; lastUsedAt: string | null }>
  recoveryCodesRemaining: number
  /** Whether the server's public URL allows passkeys (a host name, not an address). */
  passkeysAvailable: boolean
}

/** The person's second factors: the authenticator app, passkeys, recovery codes left. */
export function SecurityPage({
  frame,
  totp,
  passkeys,
  recoveryCodesRemaining,
  passkeysAvailable,
}: SecurityProps) {
  return (
    <Page
      title="Security"
      section="security"
      {...frame}
      scripts={passkeysAvailable ? ['/assets/webauthn.js', '/assets/passkeys.js'] : []}
    >
      <section class="card">
        <h2>Authenticator app</h2>
        <p id="totp-state">{totp.enabled ? 'Set up: sign-in asks for its code.' : 'Not set up.'}</p>
        <p class="muted">Recovery codes left: {recoveryCodesRemaining}</p>
      </section>
      <section class="card">
        <h2>Passkeys</h2>
        {passkeys.length > 0 ? (
          <ul id="passkeys">
            {passkeys.map((p) => (
              <li>
                {p.name} <span class="muted">added {p.createdAt.slice(0, 10)}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p id="passkeys-none">No passkey yet.</p>
        )}
        {passkeysAvailable ? (
          <>
            <label for="passkey-name">Name</label>
            <input id="passkey-name" value="Passkey" maxlength={100} />
            <button type="button" id="add-passkey">
              Add a passkey
            </button>
            <p class="error" role="alert" id="passkey-error" />
            <div id="recovery-codes-shown" hidden>
              <p>
                Keep these recovery codes somewhere safe; each signs you in once, and they are not
                shown again.
              </p>
              <ul id="new-recovery-codes" />
              <p>
                <a href="/security">Done</a>
              </p>
            </div>
          </>
        ) : (
          <p class="muted">
            Passkeys need the server’s public URL (KEYSTASH_PUBLIC_URL) to have a host name.
          </p>
        )}
      </section>
    </Page>
  )
}
