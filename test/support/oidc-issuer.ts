import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'

/**
 * A real OpenID provider (`oidc-provider`) on a loopback port: discovery, its JWKS endpoint
 * and signing as any issuer does. Tokens come from its client-credentials grant as JWTs, and
 * a customizer gives them the claim shape of the platform under test (GitHub Actions,
 * Kubernetes, GitLab CI) instead of the provider's own.
 */
export interface OidcIssuer {
  issuer: string
  /** A token for `aud` with exactly these claims, signed with `alg`. */
  issue(input: {
    aud: string
    claims: Record<string, unknown>
    alg?: 'RS256' | 'ES256' | 'EdDSA'
    lifetimeSeconds?: number
  }): Promise<string>
  close(): Promise<void>
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  const keys = await Promise.all(
    (['RS256', 'ES256', 'EdDSA'] as const).map(async (alg, index) => {
      const { privateKey } = await generateKeyPair(alg, { extractable: true })
      return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `key-${index}` }
    }),
  )
  const server = http.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  // What the next token of each client carries; a request names its client.
  const pending = new Map<string, { aud: string; claims: Record<string, unknown> }>()
  const clients = (['RS256', 'ES256', 'EdDSA'] as const).map((alg) => ({
    client_id: `client-${alg}`,
    client_secret: 'not-a-secret-of-the-product',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post' as const,
  }))
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:workload',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, _resource, client) => ({
          scope: '',
          audience: 'urn:workload',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: {
            sign: { alg: client.clientId.replace('client-', '') as 'RS256' | 'ES256' | 'EdDSA' },
          },
        }),
      },
    },
    formats: {
      customizers: {
        jwt: (_ctx, token, jwt) => {
          const wanted = pending.get(String(token.clientId))
          if (!wanted) return
          const { iat, exp, jti } = jwt.payload as Record<string, unknown>
          jwt.payload = { jti, iat, exp, ...wanted.claims, iss: issuer, aud: wanted.aud }
          jwt.header = { typ: 'JWT' }
        },
      },
    },
  })
  server.on('request', provider.callback())

  return {
    issuer,
    async issue({ aud, claims, alg = 'RS256' }) {
      const clientId = `client-${alg}`
      pending.set(clientId, { aud, claims })
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: 'not-a-secret-of-the-product',
        }),
      })
      pending.delete(clientId)
      const body = (await response.json()) as { access_token?: string }
      if (!body.access_token)
        throw new Error(`the provider issued no token: ${JSON.stringify(body)}`)
      return body.access_token
    },
    async close() {
      server.closeAllConnections()
      server.close()
    },
  }
}
