import type { AppError } from '../../../errors.ts'
import { Page, SsoStepUpLink } from './layout.tsx'

/** An error as a page: what happened, its stable code and request id, and the way back. */
export function ErrorPage({
  error,
  requestId,
  nonce,
  csrf,
  back,
  organizationId,
}: {
  error: AppError
  requestId: string
  nonce: string
  organizationId?: string | undefined
  csrf?: string
  back: string
}) {
  return (
    <Page title={error.title} nonce={nonce} {...(csrf ? { csrf } : {})}>
      <div class="card" role="alert">
        <p>{error.detail}</p>
        <p class="muted">
          Code <code>{error.code}</code> · request <code>{requestId}</code>
        </p>
      </div>
      {error.code === 'step_up_required' && csrf ? (
        <form method="post" action="/step-up" class="card narrow">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="next" value={back} />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
          <label for="code">Code from your authenticator app (if you set one up)</label>
          <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" />
          <button type="submit">Confirm</button>
          {organizationId ? <SsoStepUpLink organizationId={organizationId} /> : null}
        </form>
      ) : null}
      <p>
        <a href={back}>Go back</a>
      </p>
    </Page>
  )
}
