import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OidcIssuer } from './oidc-issuer.ts'

/** The request token a job would find in ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
export const JOB_REQUEST_TOKEN = 'job-request-token'

/**
 * A stand-in for GitHub Actions' ID-token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): checks the
 * job's request token, and answers `{ value }` with a token from `issuer` carrying `claims`
 * and the audience asked for.
 */
export async function startGitHubIdTokenEndpoint(
  issuer: OidcIssuer,
  claims: Record<string, unknown>,
) {
  const requests: string[] = []
  const endpoint = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (req.headers.authorization !== `bearer ${JOB_REQUEST_TOKEN}`) {
      res.writeHead(401).end()
      return
    }
    const audience = url.searchParams.get('audience') ?? ''
    requests.push(audience)
    const value = await issuer.issue({ aud: audience, claims })
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ count: 1, value }))
  })
  endpoint.listen(0, '127.0.0.1')
  await once(endpoint, 'listening')
  return {
    url: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token?api-version=2.0`,
    requests,
    close: () => endpoint.close(),
  }
}
