import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  fromCallback,
  fromGitHubActions,
  fromTokenFile,
  Keystash,
  KeystashError,
} from '../../sdk/src/index.ts'
import { JOB_REQUEST_TOKEN, startGitHubIdTokenEndpoint } from '../support/github-id-token.ts'
import { type OidcIssuer, startOidcIssuer } from '../support/oidc-issuer.ts'
import { client } from '../support/stack.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

/**
 * The SDK reads keys with no static Keystash token anywhere: it exchanges the workload's OIDC
 * token (from a real OpenID provider) through a trust relationship.
 */

let server: SdkServer
let issuer: OidcIssuer
let session: string
let dir: string

beforeAll(async () => {
  server = await startSdkServer({ KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' })
  issuer = await startOidcIssuer()
  ;({ session } = await server.signup())
  await client(server.stack.app).post('/v1/keys', { name: 'openai', value: 'sk-wif-sdk' }, session)
  dir = await mkdtemp(join(tmpdir(), 'keystash-wif-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  await issuer?.close()
  await server?.close()
})

async function relationship(body: Record<string, unknown>) {
  const res = await client(server.stack.app).post(
    '/v1/trust-relationships',
    {
      name: 'sdk',
      issuer: issuer.issuer,
      scopes: ['keys:read'],
      environment: 'production',
      ...body,
    },
    session,
  )
  if (res.status !== 201) throw new Error(JSON.stringify(res.body))
  return res.body.id as string
}

const githubClaims = {
  sub: 'repo:octo-org/app:ref:refs/heads/main',
  repository: 'octo-org/app',
  repository_owner: 'octo-org',
  repository_owner_id: '5429',
  repository_id: '1',
}

describe('in GitHub Actions', () => {
  it('reads a key with an exchanged token, one exchange for many concurrent calls', async () => {
    expect(process.env.KEYSTASH_TOKEN).toBeUndefined()
    const id = await relationship({
      preset: 'github-actions',
      conditions: [{ claim: '/repository_owner_id', value: '5429' }],
    })
    const github = await startGitHubIdTokenEndpoint(issuer, githubClaims)
    try {
      const keystash = new Keystash({
        baseUrl: server.url,
        workloadIdentity: {
          relationship: id,
          subjectToken: fromGitHubActions({
            requestUrl: github.url,
            requestToken: JOB_REQUEST_TOKEN,
          }),
        },
      })
      const values = await Promise.all(
        Array.from({ length: 5 }, () => keystash.keys.getValue('openai')),
      )
      expect(values.map((v) => v.value)).toEqual(Array(5).fill('sk-wif-sdk'))
      // Single flight: one ID token, one exchange, asked with the relationship as audience.
      expect(github.requests).toEqual([id])
      // The cached token serves later calls without another exchange.
      await keystash.keys.getValue('openai')
      expect(github.requests).toHaveLength(1)
    } finally {
      github.close()
    }
  })
})

describe('with a token file', () => {
  it('keeps working when the file rotates, re-reading it at each exchange', async () => {
    const id = await relationship({
      preset: 'kubernetes',
      audience: 'https://keystash.example/sdk',
      conditions: [{ claim: '/kubernetes.io/namespace', value: 'payments' }],
    })
    const projected = (namespace: string) =>
      issuer.issue({
        aud: 'https://keystash.example/sdk',
        alg: 'ES256',
        claims: {
          sub: `system:serviceaccount:${namespace}:api`,
          'kubernetes.io': { namespace, serviceaccount: { name: 'api' } },
        },
      })
    const file = join(dir, 'token')
    // The kubelet replaces the file atomically; so does this test.
    const place = async (token: string) => {
      await writeFile(`${file}.new`, token)
      await rename(`${file}.new`, file)
    }
    await place(await projected('payments'))
    let exchanges = 0
    const keystash = new Keystash({
      baseUrl: server.url,
      maxRetries: 0,
      workloadIdentity: {
        relationship: id,
        subjectAudience: 'https://keystash.example/sdk',
        subjectToken: async (request) => {
          exchanges++
          return fromTokenFile(file)(request)
        },
        // Refresh at every call, so that each call reads the file.
        refreshAt: Number.MIN_VALUE,
      },
    })
    expect((await keystash.keys.getValue('openai')).value).toBe('sk-wif-sdk')
    await place(await projected('payments'))
    expect((await keystash.keys.getValue('openai')).value).toBe('sk-wif-sdk')
    // A token for another namespace in the file: the exchange is refused (the file was
    // re-read), and the call still succeeds with the previous token, which has not expired.
    await place(await projected('default'))
    expect((await keystash.keys.getValue('openai')).value).toBe('sk-wif-sdk')
    await server.stack.deps.audit.flush()
    const denied = (
      await client(server.stack.app).get(`/v1/audit?action=token.exchange&targetId=${id}`, session)
    ).body.items.filter((e: { outcome: { result: string } }) => e.outcome.result === 'denied')
    expect(denied.map((e: { details: { subject: string } }) => e.details.subject)).toEqual([
      'system:serviceaccount:default:api',
    ])
    expect(exchanges).toBe(3)
  })
})

describe('with a callback', () => {
  it('exchanges again after the server refused the token (relationship deleted)', async () => {
    const id = await relationship({
      preset: 'generic',
      audience: 'https://keystash.example/cb',
      conditions: [{ claim: '/sub', value: 'svc-billing' }],
    })
    const keystash = new Keystash({
      baseUrl: server.url,
      workloadIdentity: {
        relationship: id,
        subjectAudience: 'https://keystash.example/cb',
        subjectToken: fromCallback(({ audience }) =>
          issuer.issue({ aud: audience, claims: { sub: 'svc-billing' }, alg: 'EdDSA' }),
        ),
      },
    })
    expect((await keystash.keys.getValue('openai')).value).toBe('sk-wif-sdk')
    await client(server.stack.app).delete(`/v1/trust-relationships/${id}`, session)
    const after = await keystash.keys.getValue('openai').then(
      () => undefined,
      (e: unknown) => e,
    )
    // The revoked token is dropped and the exchange tried again, which the server now refuses.
    expect(after).toBeInstanceOf(KeystashError)
    expect((after as KeystashError).code).toBe('trust_relationship_unknown')
    expect(after).not.toBeInstanceOf(AuthenticationError)
  })
})
