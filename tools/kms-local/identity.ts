import type { IncomingHttpHeaders } from 'node:http'
import { KmsError } from './errors.ts'

/** Who is calling, as far as a key policy cares. */
export interface Caller {
  accessKeyId: string
  region: string
  accountId: string
  /** Everything a policy `Principal` may name to mean this caller. */
  principals: string[]
  /** Shown in AccessDenied messages, like AWS shows the caller's ARN. */
  arn: string
}

/** Temporary credentials issued by AssumeRole (see sts.ts). */
export interface RoleSession {
  accessKeyId: string
  sessionToken: string
  roleArn: string
  assumedRoleArn: string
  accountId: string
  expiresAt: number
}

export interface SignedScope {
  accessKeyId: string
  region: string
  service: string
}

const scopePattern =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request\s*,/

/**
 * Reads the SigV4 credential scope. Signatures are deliberately not verified: this is a
 * development tool with no secret keys, and the SDK signs correctly anyway. What matters is
 * that the caller and region are read from the same place AWS reads them.
 */
export function readSignedScope(headers: IncomingHttpHeaders): SignedScope {
  const header = headers.authorization
  if (!header)
    throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token')
  const match = scopePattern.exec(header)
  if (!match?.[1] || !match[3] || !match[4]) {
    throw new KmsError(
      'IncompleteSignatureException',
      'Authorization header requires a Credential parameter of the form <key>/<date>/<region>/<service>/aws4_request.',
    )
  }
  return { accessKeyId: match[1], region: match[3], service: match[4] }
}

/** Maps access key ids to accounts, so a test can model a tenant's own AWS account. */
export interface AccountDirectory {
  set(accessKeyId: string, accountId: string): void
  get(accessKeyId: string): string
  delete(accessKeyId: string): void
}

export function createAccountDirectory(defaultAccountId: string): AccountDirectory {
  assertAccountId(defaultAccountId)
  const accounts = new Map<string, string>()
  return {
    set(accessKeyId, accountId) {
      assertAccountId(accountId)
      accounts.set(accessKeyId, accountId)
    },
    get: (accessKeyId) => accounts.get(accessKeyId) ?? defaultAccountId,
    delete: (accessKeyId) => void accounts.delete(accessKeyId),
  }
}

export function assertAccountId(accountId: string): void {
  if (!/^\d{12}$/.test(accountId)) throw new Error(`account id must be 12 digits: ${accountId}`)
}

/**
 * Long-term credentials are accepted for any access key id; temporary ones (they come with a
 * session token) must have been issued here and still be valid, as with AWS.
 */
export function identifyCaller(
  scope: SignedScope,
  sessionToken: string | undefined,
  deps: { accounts: AccountDirectory; findSession(token: string): RoleSession | undefined },
  now: number,
): Caller {
  if (sessionToken === undefined) {
    const accountId = deps.accounts.get(scope.accessKeyId)
    return {
      accessKeyId: scope.accessKeyId,
      region: scope.region,
      accountId,
      principals: [scope.accessKeyId, accountId, `arn:aws:iam::${accountId}:root`],
      arn: `arn:aws:iam::${accountId}:user/${scope.accessKeyId}`,
    }
  }
  const session = deps.findSession(sessionToken)
  if (!session || session.accessKeyId !== scope.accessKeyId) {
    throw new KmsError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    )
  }
  if (session.expiresAt <= now) {
    throw new KmsError(
      'ExpiredTokenException',
      'The security token included in the request is expired',
    )
  }
  const { accountId } = session
  return {
    accessKeyId: scope.accessKeyId,
    region: scope.region,
    accountId,
    principals: [
      scope.accessKeyId,
      accountId,
      `arn:aws:iam::${accountId}:root`,
      session.roleArn,
      session.assumedRoleArn,
    ],
    arn: session.assumedRoleArn,
  }
}
