import { KMSClient } from '@aws-sdk/client-kms'
import { AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts'
import { AppError } from '../errors.ts'
import type { Clock } from '../lib/clock.ts'

/**
 * KMS clients for tenants' keys: one per region (a key ARN names its region, and a KMS client
 * signs for one), and one per role for tenants who let Keystash in through a role in their
 * own account. Role credentials come from STS AssumeRole with the external id Keystash set
 * for that tenant, and are renewed a few minutes before they expire.
 */
export interface RoleRef {
  roleArn: string
  externalId: string
  /** Shows in the tenant's CloudTrail as the session name. */
  sessionName: string
}

export interface KmsClientPoolOptions {
  /** The server's own client: its credentials, and the client for its own region. */
  base: KMSClient
  region: string
  /** Development and tests: the local KMS, for every region. */
  endpoint?: string
  /** Where STS is (the local KMS answers STS too); the SDK's default when absent. */
  stsEndpoint?: string
  clock: Clock
  /** Told of every client the pool makes (the metrics instrument them). */
  onClient?: (client: KMSClient | STSClient) => void
}

const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/
const RENEW_BEFORE_MS = 5 * 60_000
const SESSION_SECONDS = 3600

export function parseKeyArn(arn: string) {
  const match = ARN.exec(arn)
  if (!match?.[1] || !match[2] || !match[3]) return undefined
  return { region: match[1], accountId: match[2], keyId: match[3] }
}

export function createKmsClientPool({
  base,
  region,
  endpoint,
  stsEndpoint,
  clock,
  onClient,
}: KmsClientPoolOptions) {
  const clients = new Map<string, KMSClient>()
  const roleCredentials = new Map<string, ReturnType<typeof assumeRoleProvider>>()
  const credentials = base.config.credentials
  let sts: STSClient | undefined

  function assumeRoleProvider(role: RoleRef) {
    let cached: { value: RoleCredentials; expiresAt: number } | undefined
    let pending: Promise<RoleCredentials> | undefined
    const refresh = async (): Promise<RoleCredentials> => {
      sts ??= new STSClient({
        region,
        credentials,
        ...(stsEndpoint ? { endpoint: stsEndpoint } : {}),
      })
      onClient?.(sts)
      let output: AssumeRoleCommandOutput
      try {
        output = await sts.send(
          new AssumeRoleCommand({
            RoleArn: role.roleArn,
            ExternalId: role.externalId,
            RoleSessionName: role.sessionName,
            DurationSeconds: SESSION_SECONDS,
          }),
        )
      } catch (error) {
        throw roleError(error)
      }
      const c = output.Credentials
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
        throw new AppError('kms_unavailable', 'AWS STS returned no credentials for the role.')
      }
      const expiresAt = c.Expiration?.getTime() ?? clock.now() + SESSION_SECONDS * 1000
      const value = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: new Date(expiresAt),
      }
      cached = { value, expiresAt }
      return value
    }
    return async (): Promise<RoleCredentials> => {
      if (cached && cached.expiresAt - clock.now() > RENEW_BEFORE_MS) return cached.value
      pending ??= refresh().finally(() => {
        pending = undefined
      })
      return pending
    }
  }

  return {
    clientFor(keyRegion: string, role?: RoleRef): KMSClient {
      if (!role && keyRegion === region) return base
      const id = `${keyRegion}|${role?.roleArn ?? ''}|${role?.externalId ?? ''}|${role?.sessionName ?? ''}`
      let client = clients.get(id)
      if (!client) {
        // One session per role, shared by the role's clients in every region.
        const roleId = role && `${role.roleArn}|${role.externalId}|${role.sessionName}`
        let roleProvider = roleId ? roleCredentials.get(roleId) : undefined
        if (role && roleId && !roleProvider) {
          roleProvider = assumeRoleProvider(role)
          roleCredentials.set(roleId, roleProvider)
        }
        client = new KMSClient({
          region: keyRegion,
          credentials: roleProvider ?? credentials,
          ...(endpoint ? { endpoint } : {}),
        })
        onClient?.(client)
        clients.set(id, client)
      }
      return client
    },
  }
}

export type KmsClientPool = ReturnType<typeof createKmsClientPool>

interface RoleCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
}

/** STS answers one AccessDenied for a wrong role, trust policy or external id alike. */
function roleError(error: unknown): AppError {
  const name = (error as { name?: unknown })?.name
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || status === 403) {
    return new AppError(
      'kek_access_denied',
      "Keystash could not assume the role in your AWS account. Check the role's trust policy: it must let Keystash's AWS account assume it with your organization's external id (sts:ExternalId).",
      { cause: error },
    )
  }
  return new AppError(
    'kms_unavailable',
    'AWS STS could not be reached to assume the role. Retry shortly.',
    {
      cause: error,
      headers: { 'Retry-After': '2' },
    },
  )
}
