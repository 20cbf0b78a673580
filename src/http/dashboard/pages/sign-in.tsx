import { Page } from './layout.tsx'

export interface SignInProps {
  nonce: string
  mode: 'login' | 'signup'
  /** What went wrong with the last attempt, shown above the form. */
  error?: string
  /** What happened, when it went well (a confirmation mail was sent). */
  notice?: string
  email?: string
  signupOpen: boolean
}

/** Sign-in and sign-up: one form, posted to itself. */
export function SignInPage({ nonce, mode, error, notice, email, signupOpen }: SignInProps) {
  const login = mode === 'login'
  return (
    <Page title={login ? 'Sign in' : 'Create an account'} nonce={nonce}>
      <form method="post" action={login ? '/login' : '/signup'} class="card narrow">
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        {notice ? <p role="status">{notice}</p> : null}
        <label for="email">E-mail</label>
        <input id="email" name="email" type="email" autocomplete="email" required value={email} />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete={login ? 'current-password' : 'new-password'}
          minlength={login ? undefined : 12}
          required
        />
        {login ? null : (
          <>
            <label for="organization">Organization (optional)</label>
            <input id="organization" name="organization" autocomplete="organization" />
          </>
        )}
        <button type="submit">{login ? 'Sign in' : 'Create account'}</button>
      </form>
      {login && signupOpen ? (
        <p>
          New here? <a href="/signup">Create an account</a>.
        </p>
      ) : null}
      {login ? null : (
        <p>
          Already have an account? <a href="/login">Sign in</a>.
        </p>
      )}
    </Page>
  )
}
