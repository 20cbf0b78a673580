import { readEnv } from '../core/env.ts'
import type { Fetch } from '../core/transport.ts'
import { KeystashError } from '../errors.ts'

/**
 * Where a workload's OIDC token comes from. Called for every exchange, with the audience the
 * trust relationship expects, so a source can ask its platform for a fresh token each time.
 */
export type SubjectTokenSource = (request: {
  audience: string
  signal?: AbortSignal
}) => Promise<string>

/**
 * A token file, such as a Kubernetes projected service-account token: read anew at every
 * exchange, so a token the kubelet rotated is picked up. Needs a runtime with `node:fs`
 * (Node.js, Deno, Bun).
 */
export function fromTokenFile(path: string): SubjectTokenSource {
  return async () => {
    // Imported when used, so the SDK still loads in browsers that never read a file.
    const specifier = 'node:fs/promises'
    const fs = (await import(/* @vite-ignore */ specifier)) as {
      readFile(path: string, encoding: 'utf8'): Promise<string>
    }
    let text: string
    try {
      text = await fs.readFile(path, 'utf8')
    } catch (cause) {
      throw new KeystashError(`Cannot read the OIDC token file ${path}.`, {
        code: 'subject_token_unavailable',
        cause,
      })
    }
    const token = text.trim()
    if (!token)
      throw new KeystashError(`The OIDC token file ${path} is empty.`, {
        code: 'subject_token_unavailable',
      })
    return token
  }
}

export interface GitHubActionsOptions {
  /** Default: `ACTIONS_ID_TOKEN_REQUEST_URL` (set when the job has `id-token: write`). */
  requestUrl?: string
  /** Default: `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. */
  requestToken?: string
  fetch?: Fetch
}

/** Whether this process runs in a GitHub Actions job allowed to request ID tokens. */
export const inGitHubActions = () =>
  readEnv('ACTIONS_ID_TOKEN_REQUEST_URL') !== undefined &&
  readEnv('ACTIONS_ID_TOKEN_REQUEST_TOKEN') !== undefined

/**
 * GitHub Actions: asks the job's ID-token endpoint for a fresh token with the relationship's
 * audience at every exchange (GitHub tokens may be exchanged once).
 */
export function fromGitHubActions(options: GitHubActionsOptions = {}): SubjectTokenSource {
  return async ({ audience, signal }) => {
    const requestUrl = options.requestUrl ?? readEnv('ACTIONS_ID_TOKEN_REQUEST_URL')
    const requestToken = options.requestToken ?? readEnv('ACTIONS_ID_TOKEN_REQUEST_TOKEN')
    if (!requestUrl || !requestToken)
      throw new KeystashError(
        'No GitHub Actions ID-token endpoint: give the job `permissions: id-token: write`.',
        { code: 'subject_token_unavailable' },
      )
    const url = new URL(requestUrl)
    url.searchParams.set('audience', audience)
    const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    let response: Response
    try {
      response = await doFetch(url.toString(), {
        headers: { authorization: `bearer ${requestToken}`, accept: 'application/json' },
        ...(signal ? { signal } : {}),
      })
    } catch (cause) {
      throw new KeystashError('The GitHub Actions ID-token endpoint could not be reached.', {
        code: 'subject_token_unavailable',
        cause,
      })
    }
    const body = (await response.json().catch(() => undefined)) as { value?: unknown } | undefined
    if (!response.ok || typeof body?.value !== 'string')
      throw new KeystashError(
        `The GitHub Actions ID-token endpoint answered ${response.status} without a token.`,
        { code: 'subject_token_unavailable', status: response.status },
      )
    return body.value
  }
}

/** Any other source: a function that returns the workload's current OIDC token. */
export const fromCallback =
  (callback: (request: { audience: string }) => string | Promise<string>): SubjectTokenSource =>
  async ({ audience }) =>
    callback({ audience })
