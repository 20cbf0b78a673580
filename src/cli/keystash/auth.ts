import { AuthenticationError } from '../../../sdk/src/index.ts'
import { completeLogin, login, logout, type SecondFactorOwed } from './auth-api.ts'
import type { Command } from './command.ts'
import { type Context, note, print, printJson } from './context.ts'
import {
  type Credentials,
  credentialsPath,
  deleteCredentials,
  readCredentials,
  writeCredentials,
} from './credentials.ts'
import { loginWithDevice } from './device-login.ts'
import { formatError, UsageError } from './errors.ts'
import { askLine, askSecret, readStdin, withoutFinalNewline } from './prompt.ts'
import { connect, DEFAULT_URL, normalizeUrl } from './session.ts'
import { details, when } from './table.ts'

const loginCommand: Command = {
  name: 'login',
  summary:
    'Log in with e-mail and password (or --device, approved in a browser), and keep the session.',
  usage: '[--url URL] [--email EMAIL] [--password-stdin] [--code CODE] [--device]',
  options: {
    url: {
      type: 'string',
      value: 'URL',
      description: `the server (default: KEYSTASH_URL, the last one used, or ${DEFAULT_URL})`,
    },
    email: { type: 'string', value: 'EMAIL', description: 'asked for on the terminal if missing' },
    'password-stdin': {
      type: 'boolean',
      description: 'read the password from standard input (one line)',
    },
    device: {
      type: 'boolean',
      description:
        'sign in without a password: approve a code in the dashboard (for single sign-on)',
    },
    code: {
      type: 'string',
      value: 'CODE',
      description: 'the authenticator code or a recovery code, if you set one up (else asked for)',
    },
  },
  json: true,
  details: `The password is read from the terminal without echo, or from standard input with
--password-stdin; never from an argument, where \`ps\` and shell history would see it.
The session (never the password) is stored in $XDG_CONFIG_HOME/keystash/credentials.json
(default ~/.config/keystash/credentials.json), readable by you only. A previous session is
revoked on the server.
With --device, the command shows a code to type in the dashboard (where you are signed in,
through single sign-on or otherwise); once you approve it there, this machine gets a
session of yours, shorter-lived than the browser's.`,
  async run(ctx, input) {
    const previous = await readCredentials(ctx.configDir)
    const url = normalizeUrl(
      input.string('url') ?? ctx.env.KEYSTASH_URL ?? previous?.url ?? DEFAULT_URL,
    )
    if (input.flag('device')) {
      const session = await loginWithDevice(ctx, url)
      await keep(ctx, previous, {
        url,
        token: session.token,
        email: '',
        expiresAt: session.expiresAt,
      })
      if (input.json) printJson(ctx, { url, expiresAt: session.expiresAt })
      else note(ctx, `Logged in to ${url} until ${when(session.expiresAt)}.`)
      return 0
    }
    const fromStdin = input.flag('password-stdin')
    let email = input.string('email')
    if (!email) {
      if (!ctx.stdin.isTTY || fromStdin) throw new UsageError('give --email', 'login')
      email = (await askLine(ctx, 'Email: ')).trim()
    }
    let password: string
    if (fromStdin) password = withoutFinalNewline(await readStdin(ctx))
    else if (ctx.stdin.isTTY) password = await askSecret(ctx, 'Password: ')
    else
      throw new UsageError('no terminal to read the password from: use --password-stdin', 'login')
    if (!password) throw new UsageError('the password is empty', 'login')

    const first = await login(url, email, password)
    const session =
      'token' in first ? first : await secondStep(ctx, url, first, input.string('code'))
    const path = await keep(ctx, previous, {
      url,
      token: session.token,
      email,
      expiresAt: session.expiresAt,
    })
    if (input.json) printJson(ctx, { url, email, expiresAt: session.expiresAt, credentials: path })
    else note(ctx, `Logged in to ${url} as ${email} until ${when(session.expiresAt)}.`)
    return 0
  },
}

/** Stores the new session; the one it replaces should not stay valid until it expires. */
async function keep(ctx: Context, previous: Credentials | undefined, credentials: Credentials) {
  const path = await writeCredentials(ctx.configDir, credentials)
  if (previous && previous.token !== credentials.token) {
    await logout(previous.url, previous.token, 5_000).catch(() => {})
  }
  return path
}

/**
 * A person with a second factor gives a code from their app (six digits) or a recovery code.
 * Setting one up takes the dashboard or the API: a terminal cannot show its QR code.
 */
async function secondStep(
  ctx: Parameters<Command['run']>[0],
  url: string,
  owed: SecondFactorOwed,
  given: string | undefined,
) {
  if (owed.purpose === 'enrol') {
    throw new UsageError(
      'your organization requires a second factor: set one up by signing in to the dashboard first',
      'login',
    )
  }
  let code = given
  if (!code) {
    if (!ctx.stdin.isTTY)
      throw new UsageError('this account has a second factor: give --code', 'login')
    code = (await askLine(ctx, 'Authenticator code (or a recovery code): ')).trim()
  }
  const digits = code.replace(/\s+/g, '')
  return completeLogin(
    url,
    owed.challenge,
    /^\d{6}$/.test(digits) ? { code: digits } : { recoveryCode: code },
  )
}

const logoutCommand: Command = {
  name: 'logout',
  summary: 'Revoke the stored session on the server and delete the credentials file.',
  usage: '',
  json: true,
  details: 'KEYSTASH_TOKEN is not affected: revoke access tokens with `keystash tokens revoke`.',
  async run(ctx, input) {
    const credentials = await readCredentials(ctx.configDir)
    if (!credentials) {
      if (input.json) printJson(ctx, { loggedOut: false })
      else note(ctx, 'Not logged in.')
      return 0
    }
    let failure: unknown
    try {
      await logout(credentials.url, credentials.token)
    } catch (error) {
      // Already expired or revoked is what we wanted; anything else is worth knowing.
      if (!(error instanceof AuthenticationError)) failure = error
    }
    await deleteCredentials(ctx.configDir)
    if (failure) {
      note(ctx, formatError(failure, 'the session could not be revoked on the server'))
      note(
        ctx,
        `Deleted ${credentialsPath(ctx.configDir)}; the session stays valid until it expires.`,
      )
      throw failure
    }
    if (input.json) printJson(ctx, { loggedOut: true, url: credentials.url })
    else note(ctx, `Logged out of ${credentials.url}.`)
    return 0
  },
}

const whoamiCommand: Command = {
  name: 'whoami',
  summary: 'Show who the current token belongs to (GET /v1/me).',
  usage: '',
  json: true,
  async run(ctx, input) {
    const { client, url, source, credentials } = await connect(ctx)
    const me = await client.me()
    if (input.json) {
      printJson(ctx, { url, source, ...me })
      return 0
    }
    const email = source === 'credentials' ? credentials?.email : undefined
    print(
      ctx,
      details([
        ['server', url],
        ['token from', source === 'credentials' ? credentialsPath(ctx.configDir) : source],
        ['kind', me.kind],
        ...(email ? [['email', email] as const] : []),
        ['name', me.name],
        ['token id', me.tokenId],
        ['organization', me.tenantId],
        ['user', me.userId],
        ['scopes', me.scopes],
        ['keys', me.keys ?? 'all'],
        ['environment', me.environment ?? (me.kind === 'session' ? 'production' : null)],
        ['expires', when(me.expiresAt)],
      ]),
    )
    return 0
  },
}

export const authCommands: Command[] = [loginCommand, logoutCommand, whoamiCommand]
