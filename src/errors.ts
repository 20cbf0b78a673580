/**
 * One error class, one table of stable codes. Every failure a caller can see is an AppError
 * with one of these codes; anything else becomes `internal` (a logged 500 with a generic
 * message). The codes are part of the public contract: clients branch on them, so they never
 * change meaning.
 */
export const errorTable = {
  // request shape
  bad_request: { status: 400, title: 'Bad request' },
  invalid_json: { status: 400, title: 'Malformed JSON body' },
  validation_failed: { status: 422, title: 'Validation failed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  idempotency_conflict: { status: 409, title: 'Idempotency key reused with another request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  // authentication and authorisation
  unauthorized: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'Invalid access token' },
  token_expired: { status: 401, title: 'Access token expired' },
  token_revoked: { status: 401, title: 'Access token revoked' },
  invalid_credentials: { status: 401, title: 'Invalid email or password' },
  login_locked: { status: 429, title: 'Too many failed logins' },
  insufficient_scope: { status: 403, title: 'Missing scope' },
  key_access_denied: { status: 403, title: 'Token may not access this key' },
  scope_escalation: { status: 403, title: 'A token cannot grant more than it holds' },
  environment_boundary: { status: 403, title: 'Not allowed from this token’s environment' },
  address_not_allowed: { status: 403, title: 'Not allowed from this client address' },
  signing_key_revoked: { status: 401, title: 'Access token signed by a revoked key' },
  signup_disabled: { status: 403, title: 'Sign-up is disabled on this server' },
  csrf_rejected: { status: 403, title: 'Cross-site request refused' },
  step_up_required: { status: 403, title: 'Confirm your password again' },
  mock_guardrail: { status: 409, title: 'Refused by a server guardrail' },
  url_refused: { status: 422, title: 'URL refused: the server does not call such addresses' },
  session_required: { status: 403, title: 'Only a person’s session may do this' },
  // single sign-on (OpenID Connect) and device login
  sso_not_configured: { status: 404, title: 'Single sign-on is not configured' },
  sso_required: { status: 403, title: 'This organization signs in through single sign-on' },
  sso_state_invalid: { status: 400, title: 'Single sign-on state missing, expired or altered' },
  sso_denied: { status: 401, title: 'The identity provider did not sign you in' },
  sso_id_token_invalid: { status: 401, title: 'The identity provider’s ID token was refused' },
  sso_email_unverified: { status: 403, title: 'The identity provider has not verified the e-mail' },
  sso_not_member: { status: 403, title: 'Not a member of this organization' },
  sso_account_conflict: { status: 409, title: 'The e-mail belongs to an account elsewhere' },
  sso_provider_unavailable: { status: 502, title: 'Identity provider unavailable' },
  sso_domain_unverified: { status: 422, title: 'Domain ownership not proven' },
  device_authorization_pending: { status: 400, title: 'Not approved yet' },
  device_slow_down: { status: 400, title: 'Polling too fast' },
  device_code_expired: { status: 400, title: 'Device code expired' },
  device_access_denied: { status: 400, title: 'Device login denied' },
  // second factor
  mfa_challenge_invalid: { status: 401, title: 'Sign-in step unknown or expired' },
  mfa_code_invalid: { status: 401, title: 'Second-factor code invalid' },
  mfa_required: { status: 401, title: 'A second factor is required' },
  role_forbids: { status: 403, title: 'Your role in this organization does not allow this' },
  last_owner: { status: 409, title: 'An organization keeps at least one owner' },
  invitation_invalid: { status: 404, title: 'Invitation unknown, used or revoked' },
  invitation_expired: { status: 410, title: 'Invitation expired' },
  invitation_wrong_address: { status: 403, title: 'Invitation is for another address' },
  email_unconfirmed: { status: 403, title: 'E-mail address not confirmed yet' },
  confirmation_invalid: { status: 404, title: 'Confirmation link unknown, used or expired' },
  // workload identity federation (token exchange); each also carries RFC 6749's `error`
  trust_owner_unpinned: { status: 422, title: 'Conditions do not pin the workload’s owner' },
  token_exchange_invalid: { status: 400, title: 'Invalid token exchange request' },
  token_exchange_unsupported: { status: 400, title: 'Unsupported grant or token type' },
  token_exchange_scope: { status: 400, title: 'Scope beyond the trust relationship’s grant' },
  trust_relationship_unknown: { status: 400, title: 'Unknown trust relationship' },
  trust_relationship_inactive: { status: 400, title: 'Trust relationship no longer active' },
  subject_token_malformed: { status: 400, title: 'Subject token malformed' },
  subject_token_algorithm: { status: 400, title: 'Subject token algorithm not accepted' },
  subject_token_signature: { status: 400, title: 'Subject token signature invalid' },
  subject_token_unknown_key: { status: 400, title: 'Subject token signed by an unknown key' },
  subject_token_issuer: { status: 400, title: 'Subject token issuer not accepted' },
  subject_token_audience: { status: 400, title: 'Subject token audience not accepted' },
  subject_token_expired: { status: 400, title: 'Subject token expired' },
  subject_token_not_yet_valid: { status: 400, title: 'Subject token not yet valid' },
  subject_token_too_old: { status: 400, title: 'Subject token too old' },
  subject_token_claims: { status: 400, title: 'Subject token claims do not match' },
  subject_token_replayed: { status: 400, title: 'Subject token already exchanged' },
  issuer_refused: { status: 400, title: 'Issuer refused by the outbound-request policy' },
  issuer_unavailable: { status: 502, title: 'Issuer unavailable' },
  // key management (KMS and key-encryption keys)
  kek_disabled: { status: 503, title: 'Encryption key disabled' },
  kek_access_denied: { status: 503, title: 'Access to the encryption key denied' },
  kek_pending_deletion: { status: 503, title: 'Encryption key pending deletion' },
  kek_not_found: { status: 503, title: 'Encryption key not found' },
  kms_throttled: { status: 503, title: 'Key management service throttled' },
  kms_unavailable: { status: 503, title: 'Key management service unavailable' },
  kek_invalid: { status: 422, title: 'Encryption key failed validation' },
  decryption_failed: { status: 500, title: 'Stored value could not be decrypted' },
  // storage and the rest
  storage_unavailable: { status: 503, title: 'Storage unavailable' },
  audit_unavailable: { status: 503, title: 'Audit log unavailable' },
  shutting_down: { status: 503, title: 'Instance shutting down' },
  mail_unavailable: { status: 503, title: 'Mail could not be sent' },
  public_url_required: { status: 503, title: 'The server has no public URL for links' },
  internal: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof errorTable

export interface AppErrorOptions {
  /** Extra members of the problem document (RFC 9457 extension members). Never secrets. */
  extra?: Record<string, unknown>
  /** Response headers the error needs (`Retry-After`, `WWW-Authenticate`, ...). */
  headers?: Record<string, string>
  cause?: unknown
}

export class AppError extends Error {
  override readonly name = 'AppError'
  readonly code: ErrorCode
  readonly status: number
  readonly title: string
  readonly detail: string
  readonly extra: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    const entry = errorTable[code]
    super(detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = entry.status
    this.title = entry.title
    this.detail = detail ?? entry.title
    this.extra = options.extra ?? {}
    this.headers = options.headers ?? {}
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError
