import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  KeystashError,
  KeyUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '../../../sdk/src/index.ts'

/** The CLI's own exit codes. `run` and `dev` pass their child's code through instead. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  authentication: 3,
  permission: 4,
  notFound: 5,
  conflict: 6,
  keyUnavailable: 7,
  connection: 8,
} as const

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  error (server error, rate limited, anything else)
  2  usage error: bad arguments, or input the server refused as invalid (400, 413, 422)
  3  authentication: not logged in, token invalid, expired or revoked (401)
  4  permission: the token lacks a scope or may not use this key (403)
  5  not found (404)
  6  conflict: the name is taken, a mock-mode guardrail, ... (409)
  7  key unavailable: the key-encryption key or KMS cannot serve the value
  8  connection: the server could not be reached or did not answer in time
  run and dev exit with their command's code (128 + N when a signal N ended it).`

/** An error of the CLI itself (not the server's): its message is shown as is. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.error) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** Bad arguments: the message, then a pointer to the command's help. */
export class UsageError extends CliError {
  readonly command: string
  constructor(message: string, command = '') {
    super(message, EXIT.usage)
    this.name = 'UsageError'
    this.command = command
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode
  // KeyUnavailableError first: it is also a ServerError.
  if (error instanceof KeyUnavailableError) return EXIT.keyUnavailable
  if (error instanceof AuthenticationError) return EXIT.authentication
  if (error instanceof PermissionDeniedError) return EXIT.permission
  if (error instanceof NotFoundError) return EXIT.notFound
  if (error instanceof ConflictError) return EXIT.conflict
  if (error instanceof ValidationError) return EXIT.usage
  if (error instanceof ConnectionError) return EXIT.connection
  return EXIT.error
}

/**
 * One line: `error: <detail> (code <code>, request <requestId>)`. Server errors carry only the
 * problem's detail (never a request body, so never a value); unexpected errors show their
 * message, which in this program never holds a secret either.
 */
export function formatError(error: unknown, context?: string): string {
  const prefix = context ? `${context}: ` : ''
  if (error instanceof UsageError) {
    const help = `keystash ${error.command ? `${error.command} ` : ''}--help`
    return `error: ${prefix}${oneLine(error.message)} (see ${help})`
  }
  if (error instanceof KeystashError) {
    const detail = error.problem?.detail ?? error.problem?.title ?? error.message
    const about = [
      error.code ? `code ${error.code}` : undefined,
      error.requestId ? `request ${error.requestId}` : undefined,
    ].filter(Boolean)
    return `error: ${prefix}${oneLine(String(detail))}${about.length ? ` (${about.join(', ')})` : ''}`
  }
  const message = error instanceof Error ? error.message : String(error)
  return `error: ${prefix}${oneLine(message)}`
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim()
