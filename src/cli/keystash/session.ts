import {
  fromGitHubActions,
  fromTokenFile,
  Keystash,
  type WorkloadIdentityOptions,
} from '../../../sdk/src/index.ts'
import type { Context } from './context.ts'
import { type Credentials, readCredentials } from './credentials.ts'
import { CliError, EXIT, UsageError } from './errors.ts'

export const DEFAULT_URL = 'http://127.0.0.1:8787'

export interface Connection {
  client: Keystash
  url: string
  /** Where the token came from. */
  source: 'KEYSTASH_TOKEN' | 'credentials' | 'workload identity'
  credentials: Credentials | undefined
}

/** `https://x.example/` and `https://x.example` are the same server. */
export function normalizeUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(raw)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`not an http(s) URL: ${JSON.stringify(raw)}`)
  }
  return url.href.replace(/\/+$/, '')
}

export function newClient(url: string, token: string): Keystash {
  // mock: false, or KEYSTASH_MOCK=1 (meant for the application under `run`) would make this
  // client invent values offline instead of asking the server.
  return new Keystash({ baseUrl: url, token, mock: false })
}

/**
 * Workload identity federation, when KEYSTASH_TRUST_RELATIONSHIP names a relationship: the
 * OIDC token comes from KEYSTASH_OIDC_TOKEN_FILE (a Kubernetes projected token, say), or in a
 * GitHub Actions job allowed to request ID tokens, from GitHub.
 */
function workloadIdentityOf(ctx: Context): WorkloadIdentityOptions | undefined {
  const relationship = ctx.env.KEYSTASH_TRUST_RELATIONSHIP?.trim()
  if (!relationship) return undefined
  const audience = ctx.env.KEYSTASH_OIDC_AUDIENCE?.trim() || undefined
  const common = { relationship, ...(audience ? { subjectAudience: audience } : {}) }
  const file = ctx.env.KEYSTASH_OIDC_TOKEN_FILE?.trim()
  if (file) return { ...common, subjectToken: fromTokenFile(file) }
  const requestUrl = ctx.env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim()
  const requestToken = ctx.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim()
  if (requestUrl && requestToken)
    return { ...common, subjectToken: fromGitHubActions({ requestUrl, requestToken }) }
  throw new UsageError(
    'KEYSTASH_TRUST_RELATIONSHIP is set but there is no OIDC token: set KEYSTASH_OIDC_TOKEN_FILE, or in GitHub Actions grant the job `permissions: id-token: write`',
  )
}

/**
 * KEYSTASH_URL and KEYSTASH_TOKEN win over the stored session. A stored session is only ever
 * sent to the server that issued it: with KEYSTASH_URL naming another one, it is not used.
 */
export async function connect(ctx: Context): Promise<Connection> {
  const credentials = await readCredentials(ctx.configDir)
  const envUrl = ctx.env.KEYSTASH_URL?.trim() || undefined
  const envToken = ctx.env.KEYSTASH_TOKEN?.trim() || undefined
  const url = envUrl ? normalizeUrl(envUrl) : credentials?.url
  if (envToken) {
    if (!url) throw new UsageError('KEYSTASH_TOKEN is set but no server: set KEYSTASH_URL too')
    return { client: newClient(url, envToken), url, source: 'KEYSTASH_TOKEN', credentials }
  }
  const workload = workloadIdentityOf(ctx)
  if (workload) {
    if (!url)
      throw new UsageError('KEYSTASH_TRUST_RELATIONSHIP is set but no server: set KEYSTASH_URL too')
    return {
      client: new Keystash({ baseUrl: url, workloadIdentity: workload, mock: false }),
      url,
      source: 'workload identity',
      credentials,
    }
  }
  if (!credentials) {
    throw new CliError(
      'not logged in: run `keystash login`, or set KEYSTASH_TOKEN (and KEYSTASH_URL)',
      EXIT.authentication,
    )
  }
  if (url !== credentials.url) {
    throw new CliError(
      `not logged in to ${url} (the stored session is for ${credentials.url}): run \`keystash login\`, or set KEYSTASH_TOKEN`,
      EXIT.authentication,
    )
  }
  return { client: newClient(url, credentials.token), url, source: 'credentials', credentials }
}
