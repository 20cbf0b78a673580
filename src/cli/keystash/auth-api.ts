import {
  ConnectionError,
  errorClassFor,
  type KeystashError,
  type Problem,
} from '../../../sdk/src/index.ts'

/**
 * The SDK has no login or logout (it is built around tokens given to it), so these two calls are
 * made here, with the SDK's error classes so that exit codes and messages stay the same.
 */

const TIMEOUT_MS = 30_000

export interface Session {
  token: string
  expiresAt: string
}

/** A correct password for a person with a second factor: the login's second step is owed. */
export interface SecondFactorOwed {
  challenge: string
  purpose: 'verify' | 'enrol'
}

export async function login(
  url: string,
  email: string,
  password: string,
): Promise<Session | SecondFactorOwed> {
  const body = await call(url, '/v1/auth/login', { body: JSON.stringify({ email, password }) })
  const mfa = (body as { mfa?: Partial<SecondFactorOwed> } | undefined)?.mfa
  if (typeof mfa?.challenge === 'string') {
    return { challenge: mfa.challenge, purpose: mfa.purpose === 'enrol' ? 'enrol' : 'verify' }
  }
  return sessionOf(body)
}

/** The second step: a code from the authenticator app, or a recovery code. */
export async function completeLogin(
  url: string,
  challenge: string,
  factor: { code: string } | { recoveryCode: string },
): Promise<Session> {
  return sessionOf(
    await call(url, '/v1/auth/mfa', { body: JSON.stringify({ challenge, ...factor }) }),
  )
}

function sessionOf(body: unknown): Session {
  const session = (body as { session?: Partial<Session> } | undefined)?.session
  if (typeof session?.token !== 'string' || typeof session.expiresAt !== 'string') {
    throw new Error('the server answered the login without a session')
  }
  return { token: session.token, expiresAt: session.expiresAt }
}

export interface DeviceCode {
  device_code: string
  user_code: string
  verification_uri: string
  expires_in: number
  interval: number
}

/** Starts a device login (RFC 8628 style): the code to show and where to type it. */
export async function requestDeviceCode(url: string, clientHost: string): Promise<DeviceCode> {
  const body = (await call(url, '/v1/auth/device/code', {
    body: JSON.stringify({ clientHost }),
  })) as Partial<DeviceCode> | undefined
  if (typeof body?.device_code !== 'string' || typeof body.user_code !== 'string') {
    throw new Error('the server answered the device login without a code')
  }
  return body as DeviceCode
}

/** One poll: the session once approved; until then the server's problem, as an error. */
export async function pollDeviceToken(url: string, deviceCode: string): Promise<Session> {
  const body = await call(url, '/v1/auth/device/token', {
    body: JSON.stringify({ device_code: deviceCode }),
  })
  const session = (body as { session?: Partial<Session> } | undefined)?.session
  if (typeof session?.token !== 'string' || typeof session.expiresAt !== 'string') {
    throw new Error('the server answered the device login without a session')
  }
  return { token: session.token, expiresAt: session.expiresAt }
}

/** Revokes the session on the server. */
export async function logout(url: string, token: string, timeoutMs = TIMEOUT_MS): Promise<void> {
  await call(url, '/v1/auth/logout', { authorization: `Bearer ${token}`, timeoutMs })
}

async function call(
  url: string,
  path: string,
  init: { body?: string; authorization?: string; timeoutMs?: number },
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.authorization) headers.authorization = init.authorization
  let response: Response
  let text: string
  try {
    response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? TIMEOUT_MS),
    })
    text = await response.text()
  } catch (cause) {
    throw new ConnectionError(`The Keystash server at ${url} could not be reached.`, {
      code: 'connection_error',
      cause,
    })
  }
  if (response.ok) return text ? (JSON.parse(text) as unknown) : undefined
  throw problemError(response, text)
}

function problemError(response: Response, text: string): KeystashError {
  let problem: Problem | undefined
  try {
    problem = JSON.parse(text) as Problem
  } catch {
    // Not a problem document: its text stays out of the message.
  }
  const code = typeof problem?.code === 'string' ? problem.code : undefined
  const requestId =
    (typeof problem?.requestId === 'string' ? problem.requestId : undefined) ??
    response.headers.get('x-request-id') ??
    undefined
  const ErrorClass = errorClassFor(response.status, code)
  return new ErrorClass(problem?.detail ?? (response.statusText || 'Request failed'), {
    status: response.status,
    ...(code !== undefined ? { code } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(problem ? { problem } : {}),
    headers: response.headers,
  })
}
