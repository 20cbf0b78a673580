import { Page } from './layout.tsx'

/** Which organization to sign in to, then the way to its identity provider. */
export function SsoPage({
  nonce,
  organization,
  error,
}: {
  nonce: string
  organization?: string | undefined
  error?: string | undefined
}) {
  return (
    <Page title="Sign in with SSO" nonce={nonce}>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {organization && !error ? (
        <div class="card narrow">
          <p>
            Organization <code>{organization}</code> signs in through its identity provider.
          </p>
          <p>
            <a class="button" href={`/sso/start?organization=${encodeURIComponent(organization)}`}>
              Continue to your identity provider
            </a>
          </p>
        </div>
      ) : (
        <form method="get" action="/sso" class="card narrow">
          <label for="organization">Organization ID</label>
          <input
            id="organization"
            name="organization"
            required
            value={organization}
            placeholder="org_..."
          />
          <button type="submit">Continue</button>
        </form>
      )}
      <p>
        <a href="/login">Sign in with a password</a> instead.
      </p>
    </Page>
  )
}

/**
 * Shown after the provider's redirect: the session cookie is only set by the same-site post
 * this form makes (sent at once by the page's script, or by the button).
 */
export function SsoContinuePage({
  nonce,
  email,
  mode,
}: {
  nonce: string
  email: string
  mode: 'redirect' | 'json'
}) {
  return (
    <Page title="Signed in by your identity provider" nonce={nonce}>
      {mode === 'redirect' ? (
        <form method="post" action="/auth/sso/finish" class="card narrow" data-autosubmit>
          <p>
            Your identity provider signed you in as <strong>{email}</strong>.
          </p>
          <button type="submit">Continue to Keystash</button>
        </form>
      ) : (
        <div class="card narrow">
          <p>
            Your identity provider signed you in as <strong>{email}</strong>. Return to the
            application that started the sign-in; you may close this window.
          </p>
        </div>
      )}
    </Page>
  )
}
