import { AppError, type ErrorCode } from '../../errors.ts'

/**
 * Token-exchange failures are problem documents that also carry RFC 6749's `error` and
 * `error_description` members (RFC 8693 section 2.2.2), so OAuth clients understand them.
 */
const OAUTH_ERRORS: Partial<Record<ErrorCode, string>> = {
  token_exchange_invalid: 'invalid_request',
  token_exchange_unsupported: 'unsupported_grant_type',
  token_exchange_scope: 'invalid_scope',
  validation_failed: 'invalid_request',
  trust_relationship_unknown: 'invalid_target',
  issuer_unavailable: 'temporarily_unavailable',
}

export function exchangeError(
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  return new AppError(code, detail, {
    extra: { error: OAUTH_ERRORS[code] ?? 'invalid_grant', error_description: detail, ...extra },
  })
}

/** An error thrown on the exchange path, given its OAuth members if it has none yet. */
export function asExchangeError(error: AppError): AppError {
  if ('error' in error.extra) return error
  return new AppError(error.code, error.detail, {
    extra: {
      ...error.extra,
      error: OAUTH_ERRORS[error.code] ?? (error.status >= 500 ? 'server_error' : 'invalid_grant'),
      error_description: error.detail,
    },
    headers: error.headers,
  })
}
