import type { Child } from 'hono/jsx'

export type Section =
  | 'overview'
  | 'keys'
  | 'tokens'
  | 'members'
  | 'usage'
  | 'environments'
  | 'encryption'
  | 'audit'
  | 'security'

// The sections a signed-in person sees, in order.
const NAV: { id: Section; href: string; label: string }[] = [
  { id: 'overview', href: '/', label: 'Review access' },
  { id: 'keys', href: '/keys', label: 'Keys' },
  { id: 'tokens', href: '/tokens', label: 'Tokens' },
  { id: 'members', href: '/members', label: 'Members' },
  { id: 'usage', href: '/usage', label: 'Usage' },
  { id: 'environments', href: '/environments', label: 'Environments' },
  { id: 'encryption', href: '/encryption', label: 'Encryption' },
  { id: 'audit', href: '/audit', label: 'Audit' },
  { id: 'security', href: '/security', label: 'Security' },
]

export interface PageProps {
  title: string
  nonce: string
  /** Present once signed in: the forms' CSRF token; also turns on the navigation. */
  csrf?: string
  section?: Section
  organization?: string
  /** The organization's id: step-up through its single sign-on, when it has one. */
  organizationId?: string | undefined
  /** Page-specific scripts and styles (served under /assets), after the common ones. */
  scripts?: string[]
  styles?: string[]
  children?: Child
}

/** The frame of every page: landmarks, a skip link, the navigation and sign-out. */
export function Page({
  title,
  nonce,
  csrf,
  section,
  organization,
  organizationId,
  scripts = [],
  styles = [],
  children,
}: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Keystash`}</title>
        {csrf ? <meta name="csrf-token" content={csrf} /> : null}
        <link rel="stylesheet" href="/assets/dashboard.css" />
        {styles.map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        <script nonce={nonce} src="/assets/dashboard.js" defer />
        {/* Signed-in pages can confirm a step-up with a passkey. */}
        {csrf ? <script nonce={nonce} src="/assets/webauthn.js" defer /> : null}
        {csrf ? <script nonce={nonce} src="/assets/passkeys.js" defer /> : null}
        {scripts.map((src) => (
          <script nonce={nonce} src={src} defer />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            Keystash
          </a>
          {csrf ? (
            <>
              <nav aria-label="Sections">
                <ul>
                  {NAV.map((item) => (
                    <li>
                      <a href={item.href} aria-current={item.id === section ? 'page' : undefined}>
                        {item.label}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
              <div class="account">
                {organization ? <span class="org">{organization}</span> : null}
                <form method="post" action="/logout">
                  <input type="hidden" name="csrf" value={csrf} />
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
              </div>
            </>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
        {csrf ? <StepUpDialog csrf={csrf} organizationId={organizationId} /> : null}
      </body>
    </html>
  )
}

/** Opened by the page's script when an action answers `step_up_required`. */
function StepUpDialog({ csrf, organizationId }: { csrf: string; organizationId?: string }) {
  return (
    <dialog id="step-up" aria-labelledby="step-up-title">
      <form method="post" action="/step-up" id="step-up-form">
        <h2 id="step-up-title">Confirm it is you</h2>
        <p>This action needs your password again.</p>
        <input type="hidden" name="csrf" value={csrf} />
        <label for="step-up-password">Password</label>
        <input
          id="step-up-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
        />
        <label for="step-up-code">
          Code from your authenticator app, or a recovery code (if you set one up)
        </label>
        <input id="step-up-code" name="code" inputmode="numeric" autocomplete="one-time-code" />
        <input type="hidden" name="challenge" value="" />
        <input type="hidden" name="passkey" value="" />
        <button type="button" class="secondary" id="step-up-passkey">
          Use a passkey instead
        </button>
        <p class="error" role="alert" id="step-up-error" />
        {organizationId ? <SsoStepUpLink organizationId={organizationId} /> : null}
        <div class="actions">
          <button type="submit">Confirm</button>
          <button type="button" class="secondary" data-close="step-up">
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  )
}

/**
 * People who sign in through the organization's identity provider confirm there: a new
 * sign-in at the provider (`prompt=login`, `max_age`) gives a new session, which is the check.
 */
export function SsoStepUpLink({ organizationId }: { organizationId: string }) {
  return (
    <p class="muted">
      Signed in through single sign-on?{' '}
      <a href={`/sso/start?organization=${encodeURIComponent(organizationId)}&reauth=1`}>
        Confirm with your identity provider
      </a>
      , then repeat the action.
    </p>
  )
}

/** Dates as people read them, with the exact time in `datetime` (and on hover). */
export function When({ at, never = 'never' }: { at: string | null | undefined; never?: string }) {
  if (!at) return <span class="muted">{never}</span>
  return (
    <time datetime={at} title={at}>
      {relative(Date.parse(at), Date.now())}
    </time>
  )
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400_000],
  ['month', 30 * 86400_000],
  ['day', 86400_000],
  ['hour', 3600_000],
  ['minute', 60_000],
]
const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })

export function relative(atMs: number, nowMs: number): string {
  const delta = atMs - nowMs
  for (const [unit, ms] of units) {
    if (Math.abs(delta) >= ms) return format.format(Math.round(delta / ms), unit)
  }
  return 'just now'
}
