import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'

/**
 * A hand-made OIDC issuer that misbehaves on request: every issuer lives under its own path
 * prefix of one loopback server (`<origin>/good`, `/redirect`, `/huge`, `/slow`), serving a
 * discovery document and a key set it can change mid-test (key rotation). Tokens are signed
 * with jose, so a test can give them any header and claims.
 */
export type IssuerBehaviour = 'good' | 'redirect' | 'huge' | 'slow'

export async function startHostileIssuer() {
  const makeKey = async (kid: string) => {
    const pair = await generateKeyPair('RS256', { extractable: true })
    return { kid, ...pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256' } }
  }
  const current = await makeKey('k1')
  const next = await makeKey('k2')
  const published: JWK[] = [current.jwk]
  const hanging = new Set<http.ServerResponse>()

  const server = http.createServer((req, res) => {
    const [, behaviour, ...rest] = (req.url ?? '').split('/')
    const path = `/${rest.join('/')}`
    const base = `${origin}/${behaviour}`
    if (path === '/.well-known/openid-configuration') {
      if (behaviour === 'redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end()
        return
      }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }))
    } else if (path === '/jwks') {
      res.setHeader('content-type', 'application/json')
      if (behaviour === 'huge') {
        res.end(JSON.stringify({ keys: published, padding: 'x'.repeat(2 * 1024 * 1024) }))
      } else if (behaviour === 'slow') {
        hanging.add(res)
        res.write('{"keys":[')
      } else {
        res.end(JSON.stringify({ keys: published }))
      }
    } else {
      res.writeHead(404).end()
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const origin = `http://127.0.0.1:${port}`

  return {
    port,
    origin,
    issuer: (behaviour: IssuerBehaviour) => `${origin}/${behaviour}`,
    /** Signs with the published key (`k1`), or the not yet published `k2`. */
    sign(
      claims: JWTPayload,
      { key = 'k1' as 'k1' | 'k2', kid }: { key?: 'k1' | 'k2'; kid?: string } = {},
    ) {
      const signer = key === 'k1' ? current : next
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: kid ?? signer.kid, typ: 'JWT' })
        .sign(signer.privateKey)
    },
    /** Key rotation: `k2` is published beside `k1`. */
    rotate() {
      published.push(next.jwk)
    },
    /** The published public key as PEM: the secret of an algorithm-confusion (HS256) forgery. */
    publicPem: await exportSPKI(current.publicKey),
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      server.close()
    },
  }
}
