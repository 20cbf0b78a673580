import { randomBytes, randomUUID } from 'node:crypto'
import { assertAccountId, type Caller, type RoleSession } from './identity.ts'

/**
 * Enough STS (query protocol: form-encoded POST, XML answers) for a test to model a tenant who
 * lets the platform assume a role in the tenant's account: AssumeRole checks who may assume
 * the role and its external id, and hands out temporary credentials whose access key id then
 * calls KMS as that role (a key policy can name the role ARN or the access key id).
 */
export interface RoleDefinition {
  roleArn: string
  /** When set, AssumeRole must pass exactly this ExternalId. */
  externalId?: string
  /** Who may assume it: access key ids, account ids, `arn:aws:iam::<account>:root`, or `*`. */
  allowedCallers: string[]
}

export interface RoleRegistry {
  register(role: RoleDefinition): void
  remove(roleArn: string): void
  /** Ends every session of every role (their credentials become ExpiredToken). */
  expireSessions(): void
}

export class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message)
  }
}

const rolePattern = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/
const xmlns = 'https://sts.amazonaws.com/doc/2011-06-15/'

export function createSts(now: () => number) {
  const roles = new Map<string, RoleDefinition>()
  const sessions = new Map<string, RoleSession>()

  const registry: RoleRegistry = {
    register(role) {
      const match = rolePattern.exec(role.roleArn)
      if (!match?.[1]) throw new Error(`not a role ARN: ${role.roleArn}`)
      assertAccountId(match[1])
      roles.set(role.roleArn, { ...role, allowedCallers: [...role.allowedCallers] })
    },
    remove: (roleArn) => void roles.delete(roleArn),
    expireSessions() {
      for (const session of sessions.values()) session.expiresAt = 0
    },
  }

  function assumeRole(params: URLSearchParams, caller: Caller): string {
    const roleArn = params.get('RoleArn') ?? ''
    const sessionName = params.get('RoleSessionName') ?? ''
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new StsError(
        'ValidationError',
        'RoleSessionName must be 2-64 characters of [\\w+=,.@-].',
      )
    }
    const duration = Number(params.get('DurationSeconds') ?? 3600)
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      throw new StsError('ValidationError', 'DurationSeconds must be between 900 and 43200.')
    }
    const role = roles.get(roleArn)
    const callerAllowed = role?.allowedCallers.some(
      (p) => p === '*' || caller.principals.includes(p),
    )
    const externalIdMatches =
      role?.externalId === undefined || role.externalId === params.get('ExternalId')
    if (!role || !callerAllowed || !externalIdMatches) {
      // AWS gives one answer for all three, so a caller cannot probe which one failed.
      throw new StsError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      )
    }
    const match = rolePattern.exec(roleArn)
    const accountId = match?.[1] ?? ''
    const roleName = match?.[2] ?? ''
    const session: RoleSession = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      sessionToken: randomBytes(48).toString('base64'),
      roleArn,
      assumedRoleArn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
      accountId,
      expiresAt: now() + duration * 1000,
    }
    sessions.set(session.sessionToken, session)
    const secret = randomBytes(30).toString('base64')
    return respond(
      'AssumeRole',
      `
    <Credentials>
      <AccessKeyId>${session.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${secret}</SecretAccessKey>
      <SessionToken>${session.sessionToken}</SessionToken>
      <Expiration>${new Date(session.expiresAt).toISOString()}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROA${randomBytes(8).toString('hex').toUpperCase()}:${escapeXml(sessionName)}</AssumedRoleId>
      <Arn>${escapeXml(session.assumedRoleArn)}</Arn>
    </AssumedRoleUser>`,
    )
  }

  function getCallerIdentity(caller: Caller): string {
    return respond(
      'GetCallerIdentity',
      `
    <UserId>${escapeXml(caller.accessKeyId)}</UserId>
    <Account>${caller.accountId}</Account>
    <Arn>${escapeXml(caller.arn)}</Arn>`,
    )
  }

  return {
    roles: registry,
    findSession: (token: string) => sessions.get(token),
    /** Answers one STS request; throws StsError for the caller to render. */
    handle(params: URLSearchParams, caller: Caller): { operation: string; xml: string } {
      const operation = params.get('Action') ?? ''
      if (operation === 'AssumeRole') return { operation, xml: assumeRole(params, caller) }
      if (operation === 'GetCallerIdentity') return { operation, xml: getCallerIdentity(caller) }
      throw new StsError(
        'InvalidAction',
        `Could not find operation ${operation} for version 2011-06-15`,
      )
    },
  }
}

export type Sts = ReturnType<typeof createSts>

function respond(operation: string, result: string): string {
  return `<${operation}Response xmlns="${xmlns}">
  <${operation}Result>${result}
  </${operation}Result>
  <ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>
</${operation}Response>`
}

export function stsErrorXml(error: StsError): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender'
  return `<ErrorResponse xmlns="${xmlns}">
  <Error><Type>${type}</Type><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error>
  <RequestId>${randomUUID()}</RequestId>
</ErrorResponse>`
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
