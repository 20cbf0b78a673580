import { Page } from './layout.tsx'

export interface SecondFactorProps {
  nonce: string
  challenge: string
  /** `enrol`: the organization requires a factor the person has not set up yet. */
  purpose: 'verify' | 'enrol'
  /** For `enrol`: the new seed, shown this once. */
  enrolment?: { secret: string; uri: string }
  /** The person has a passkey: offer it (the page then loads the WebAuthn scripts). */
  passkey?: boolean
  error?: string
}

/** The second step of a sign-in: a code from the app, or a recovery code. */
export function SecondFactorPage({
  nonce,
  challenge,
  purpose,
  enrolment,
  passkey,
  error,
}: SecondFactorProps) {
  return (
    <Page
      title="Second factor"
      nonce={nonce}
      scripts={passkey ? ['/assets/webauthn.js', '/assets/passkeys.js'] : []}
    >
      <form method="post" action="/login/mfa" class="card narrow">
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <input type="hidden" name="challenge" value={challenge} />
        <input type="hidden" name="purpose" value={purpose} />
        {passkey ? (
          <>
            <input type="hidden" name="passkeyOffered" value="1" />
            <input type="hidden" name="passkey" value="" />
            <button type="button" id="use-passkey">
              Use a passkey
            </button>
            <p class="error" role="alert" id="passkey-error" />
          </>
        ) : null}
        {purpose === 'enrol' && enrolment ? (
          <>
            {/* Carried along so that a mistyped first code shows the same key again. */}
            <input type="hidden" name="secret" value={enrolment.secret} />
            <input type="hidden" name="uri" value={enrolment.uri} />
            <p>
              Your organization requires a second factor. Add this account to an authenticator app,
              then enter the code it shows.
            </p>
            <label for="totp-secret">Setup key</label>
            <input id="totp-secret" readonly value={enrolment.secret} />
            <p>
              <a href={enrolment.uri}>Open in an authenticator app</a>
            </p>
          </>
        ) : null}
        <label for="code">Code from your authenticator app</label>
        <input
          id="code"
          name="code"
          inputmode="numeric"
          autocomplete="one-time-code"
          pattern="[0-9 ]{6,8}"
          required={purpose === 'enrol'}
        />
        {purpose === 'verify' ? (
          <>
            <label for="recovery-code">Or a recovery code</label>
            <input id="recovery-code" name="recoveryCode" autocomplete="off" />
          </>
        ) : null}
        <button type="submit">Continue</button>
      </form>
    </Page>
  )
}

/** Shown once, right after a factor was set up during sign-in. */
export function RecoveryCodesPage({ nonce, codes }: { nonce: string; codes: string[] }) {
  return (
    <Page title="Recovery codes" nonce={nonce}>
      <section class="card narrow">
        <p>
          Keep these recovery codes somewhere safe. Each signs you in once if you lose your
          authenticator; they are not shown again.
        </p>
        <ul id="recovery-codes">
          {codes.map((code) => (
            <li>
              <code>{code}</code>
            </li>
          ))}
        </ul>
        <p>
          <a href="/">Continue</a>
        </p>
      </section>
    </Page>
  )
}
