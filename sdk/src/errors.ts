import type { Problem } from './types.ts'

/**
 * One base class, one subclass per meaning. `instanceof` must hold across duplicate copies of
 * this package (two bundles, a dependency pinning another version): every error carries its
 * class name under a registered symbol, and each class's `Symbol.hasInstance` accepts a value
 * whose brand is that class or one of its subclasses, whichever copy made it.
 */
const BRAND = Symbol.for('keystash.error')

/** Each class and its parent, by brand. A brand unknown to this copy counts as the base class. */
const PARENT: Record<string, string | undefined> = {
  KeystashError: undefined,
  AuthenticationError: 'KeystashError',
  PermissionDeniedError: 'KeystashError',
  NotFoundError: 'KeystashError',
  ConflictError: 'KeystashError',
  ValidationError: 'KeystashError',
  RateLimitError: 'KeystashError',
  ServerError: 'KeystashError',
  KeyUnavailableError: 'ServerError',
  ConnectionError: 'KeystashError',
  TimeoutError: 'ConnectionError',
  AbortError: 'KeystashError',
}

function descendsFrom(brand: string, ancestor: string): boolean {
  let b: string | undefined = Object.hasOwn(PARENT, brand) ? brand : 'KeystashError'
  for (; b !== undefined; b = PARENT[b]) if (b === ancestor) return true
  return false
}

export interface KeystashErrorOptions {
  status?: number
  code?: string
  requestId?: string
  problem?: Problem
  headers?: Headers
  /** How long the server asked to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number
  cause?: unknown
}

export class KeystashError extends Error {
  /** The class's brand; a subclass sets its own. Minifiers rename classes, not strings. */
  static readonly brand: string = 'KeystashError'
  declare readonly [BRAND]: string
  /** HTTP status, when the server answered. */
  readonly status: number | undefined
  /**
   * The server's stable problem `code` (`not_found`, `kek_disabled`, ...), or for failures on
   * this side: `connection_error`, `timeout`, `aborted`.
   */
  readonly code: string | undefined
  /** The server's request id: quote it when reporting a problem. */
  readonly requestId: string | undefined
  /** The RFC 9457 problem document, as the server sent it. */
  readonly problem: Problem | undefined
  readonly headers: Headers | undefined
  readonly retryAfterMs: number | undefined

  constructor(message: string, options: KeystashErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    const brand = (new.target as typeof KeystashError).brand
    Object.defineProperty(this, BRAND, { value: brand, enumerable: false })
    Object.defineProperty(this, 'name', { value: brand, enumerable: false, configurable: true })
    this.status = options.status
    this.code = options.code
    this.requestId = options.requestId
    this.problem = options.problem
    this.headers = options.headers
    this.retryAfterMs = options.retryAfterMs
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false
    const brand = (value as { [BRAND]?: unknown })[BRAND]
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass included
    return typeof brand === 'string' && descendsFrom(brand, this.brand)
  }
}

/** 401: the token is missing, invalid, expired or revoked. */
export class AuthenticationError extends KeystashError {
  static override readonly brand: string = 'AuthenticationError'
}
/** 403: the token lacks a scope, or may not use this key. */
export class PermissionDeniedError extends KeystashError {
  static override readonly brand: string = 'PermissionDeniedError'
}
/** 404: no such object (another tenant's objects answer the same). */
export class NotFoundError extends KeystashError {
  static override readonly brand: string = 'NotFoundError'
}
/** 409: a name already taken, a guardrail, an Idempotency-Key reused for another request. */
export class ConflictError extends KeystashError {
  static override readonly brand: string = 'ConflictError'
}
/** 400, 413, 415, 422: the request is malformed or invalid; `problem.errors` lists fields. */
export class ValidationError extends KeystashError {
  static override readonly brand: string = 'ValidationError'
}
/** 429: too many requests; `retryAfterMs` says when to come back. */
export class RateLimitError extends KeystashError {
  static override readonly brand: string = 'RateLimitError'
}
/** 5xx: the server or one of its dependencies failed. */
export class ServerError extends KeystashError {
  static override readonly brand: string = 'ServerError'
}
/**
 * The key-encryption key or KMS cannot serve this value: `code` is one of KEY_UNAVAILABLE_CODES
 * and says what the operator must do. A ServerError (these are 5xx), retried only for
 * `kms_throttled` and `kms_unavailable`.
 */
export class KeyUnavailableError extends ServerError {
  static override readonly brand: string = 'KeyUnavailableError'
}
/** The server could not be reached, or the connection broke. */
export class ConnectionError extends KeystashError {
  static override readonly brand: string = 'ConnectionError'
}
/** No answer within `timeoutMs` (per attempt). A ConnectionError. */
export class TimeoutError extends ConnectionError {
  static override readonly brand: string = 'TimeoutError'
}
/**
 * The caller's AbortSignal fired. Its `name` is `AbortError`, like the DOMException fetch
 * throws, so existing `error.name === 'AbortError'` checks keep working; `cause` is the
 * signal's reason.
 */
export class AbortError extends KeystashError {
  static override readonly brand: string = 'AbortError'
}

export const KEY_UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'kek_disabled',
  'kek_access_denied',
  'kek_pending_deletion',
  'kek_not_found',
  'kms_throttled',
  'kms_unavailable',
  'decryption_failed',
])

const BY_STATUS: Record<number, typeof KeystashError> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  413: ValidationError,
  415: ValidationError,
  422: ValidationError,
  429: RateLimitError,
}

/** The error class for a server answer: the problem code first, then the status. */
export function errorClassFor(status: number, code: string | undefined): typeof KeystashError {
  if (code !== undefined && KEY_UNAVAILABLE_CODES.has(code)) return KeyUnavailableError
  return BY_STATUS[status] ?? (status >= 500 ? ServerError : KeystashError)
}
