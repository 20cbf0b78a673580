import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'
import Provider from 'oidc-provider'

/**
 * A real OpenID provider (`oidc-provider`) for single sign-on tests: authorization code flow
 * with PKCE, discovery, JWKS, and ID tokens carrying `email` and `email_verified`. Its login
 * and consent screens are skipped: a test says who signs in next (`loginAs`), and the
 * interaction is finished for that account with a grant of `openid email profile`.
 *
 * The provider listens on an inner port; the issuer is a proxy in front of it that passes
 * everything through, except that a test may have it alter the ID token of the next token
 * response (`tamperNextIdToken`), re-signed with the provider's own key: so a wrong `nonce`,
 * a foreign `aud` or an expired token reach the relying party exactly as a hostile or broken
 * provider would send them.
 */
export interface SsoProvider {
  issuer: string
  /** Registers a confidential client that may redirect to `redirectUri`. */
  clients: readonly { clientId: string; clientSecret: string }[]
  setAccount(sub: string, claims: { email?: string; email_verified?: boolean; name?: string }): void
  loginAs(sub: string): void
  tamperNextIdToken(change: (claims: Record<string, unknown>) => Record<string, unknown>): void
  /** Drives a browser from the authorization URL to the relying party's callback URL. */
  authorize(authorizationUrl: string): Promise<URL>
  close(): Promise<void>
}

export async function startSsoProvider({
  redirectUri,
  clientCount = 2,
}: {
  redirectUri: string
  clientCount?: number
}): Promise<SsoProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk: JWK = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'sso-key' }
  const signingKey = await importJWK(jwk, 'RS256')

  const outer = http.createServer()
  outer.listen(0, '127.0.0.1')
  await once(outer, 'listening')
  const issuer = `http://127.0.0.1:${(outer.address() as AddressInfo).port}`

  const accounts = new Map<string, Record<string, unknown>>()
  let nextLogin: string | undefined
  let tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined

  const clients = Array.from({ length: clientCount }, (_, i) => ({
    clientId: `keystash-${i + 1}`,
    clientSecret: `provider-side-secret-${i + 1}-${Math.random().toString(36).slice(2)}`,
  }))
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: ['sso-provider-cookie-key-for-tests-only'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The claims go into the ID token itself, as most providers put them.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Grant: 600,
      Interaction: 600,
      Session: 600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const claims = accounts.get(sub)
      if (!claims) return undefined
      return { accountId: sub, claims: () => ({ ...claims, sub }) }
    },
  })
  const callback = provider.callback()

  const inner = http.createServer(async (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      try {
        const details = await provider.interactionDetails(req, res)
        const accountId = nextLogin
        if (!accountId) throw new Error('loginAs() was not called before the sign-in')
        const grant = new provider.Grant({
          accountId,
          clientId: String(details.params.client_id),
        })
        grant.addOIDCScope('openid email profile')
        const grantId = await grant.save()
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId }, consent: { grantId } },
          { mergeWithLastSubmission: false },
        )
      } catch (error) {
        res.statusCode = 500
        res.end(String(error))
      }
      return
    }
    callback(req, res)
  })
  inner.listen(0, '127.0.0.1')
  await once(inner, 'listening')
  const innerPort = (inner.address() as AddressInfo).port

  outer.on('request', (req, res) => {
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: innerPort,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      async (answer) => {
        const change = req.url?.startsWith('/token') ? tamper : undefined
        if (!change) {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
          return
        }
        tamper = undefined
        const chunks: Buffer[] = []
        for await (const chunk of answer) chunks.push(chunk as Buffer)
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
        if (typeof body.id_token === 'string') {
          const claims = change({ ...decodeJwt(body.id_token) })
          body.id_token = await new SignJWT(claims)
            .setProtectedHeader({ alg: 'RS256', kid: 'sso-key' })
            .sign(signingKey)
        }
        const text = JSON.stringify(body)
        const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) }
        res.writeHead(answer.statusCode ?? 502, headers)
        res.end(text)
      },
    )
    upstream.on('error', () => {
      res.statusCode = 502
      res.end()
    })
    req.pipe(upstream)
  })

  return {
    issuer,
    clients,
    setAccount: (sub, claims) => accounts.set(sub, claims),
    loginAs: (sub) => {
      nextLogin = sub
    },
    tamperNextIdToken: (change) => {
      tamper = change
    },
    async authorize(authorizationUrl) {
      const jar = new Map<string, string>()
      let url = new URL(authorizationUrl)
      for (let hop = 0; hop < 10; hop++) {
        if (!url.href.startsWith(issuer)) return url
        const response = await fetch(url, {
          redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        })
        for (const line of response.headers.getSetCookie()) {
          const [pair = ''] = line.split(';')
          const at = pair.indexOf('=')
          jar.set(pair.slice(0, at), pair.slice(at + 1))
        }
        const location = response.headers.get('location')
        if (!location) {
          throw new Error(
            `the provider stopped at ${url.pathname}: ${response.status} ${await response.text()}`,
          )
        }
        url = new URL(location, url)
      }
      throw new Error('too many redirects at the provider')
    },
    async close() {
      for (const server of [outer, inner]) {
        server.closeAllConnections()
        server.close()
      }
    },
  }
}
