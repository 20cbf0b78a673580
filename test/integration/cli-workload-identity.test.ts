import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JOB_REQUEST_TOKEN, startGitHubIdTokenEndpoint } from '../support/github-id-token.ts'
import { type OidcIssuer, startOidcIssuer } from '../support/oidc-issuer.ts'
import { client } from '../support/stack.ts'
import { type CliHarness, random, startCliHarness } from './cli-helpers.ts'

/** The CLI with no login and no KEYSTASH_TOKEN: a workload's OIDC token is all it has. */

let cli: CliHarness
let issuer: OidcIssuer
let session: string
const value = `sk-proj-${random(40)}`

beforeAll(async () => {
  cli = await startCliHarness({ KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' })
  issuer = await startOidcIssuer()
  ;({ session } = await cli.signup())
  await client(cli.server.stack.app).post('/v1/keys', { name: 'OPENAI_API_KEY', value }, session)
})
afterAll(async () => {
  await issuer?.close()
  await cli?.close()
})

async function relationship(body: Record<string, unknown>) {
  const res = await client(cli.server.stack.app).post(
    '/v1/trust-relationships',
    {
      name: 'cli',
      issuer: issuer.issuer,
      scopes: ['keys:read', 'keys:list'],
      environment: 'production',
      ...body,
    },
    session,
  )
  if (res.status !== 201) throw new Error(JSON.stringify(res.body))
  return res.body.id as string
}

describe('keystash with workload identity', { timeout: 60_000 }, () => {
  it('runs a program with keys from a token file (KEYSTASH_OIDC_TOKEN_FILE)', async () => {
    const id = await relationship({
      preset: 'kubernetes',
      audience: 'https://keystash.example/cli',
      conditions: [{ claim: '/kubernetes.io/namespace', value: 'payments' }],
    })
    const file = join(cli.home, 'projected-token')
    const token = await issuer.issue({
      aud: 'https://keystash.example/cli',
      alg: 'ES256',
      claims: {
        sub: 'system:serviceaccount:payments:api',
        'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' } },
      },
    })
    await writeFile(`${file}.new`, token)
    await rename(`${file}.new`, file)
    const result = await cli.run(
      [
        'run',
        '--',
        'node',
        '-e',
        'process.stdout.write(String(process.env.OPENAI_API_KEY.length))',
      ],
      {
        env: {
          KEYSTASH_URL: cli.url,
          KEYSTASH_TRUST_RELATIONSHIP: id,
          KEYSTASH_OIDC_TOKEN_FILE: file,
          KEYSTASH_OIDC_AUDIENCE: 'https://keystash.example/cli',
        },
      },
    )
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe(String(value.length))
  })

  it('detects GitHub Actions and asks its ID-token endpoint', async () => {
    const id = await relationship({
      preset: 'github-actions',
      conditions: [{ claim: '/repository_owner_id', value: '5429' }],
    })
    const github = await startGitHubIdTokenEndpoint(issuer, {
      sub: 'repo:octo-org/app:ref:refs/heads/main',
      repository_owner_id: '5429',
    })
    try {
      const result = await cli.run(['whoami', '--json'], {
        env: {
          KEYSTASH_URL: cli.url,
          KEYSTASH_TRUST_RELATIONSHIP: id,
          ACTIONS_ID_TOKEN_REQUEST_URL: github.url,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: JOB_REQUEST_TOKEN,
        },
      })
      expect(result.code, result.stderr).toBe(0)
      const me = JSON.parse(result.stdout)
      expect(me).toMatchObject({
        source: 'workload identity',
        kind: 'access',
        scopes: ['keys:read', 'keys:list'],
      })
      expect(github.requests).toEqual([id])
    } finally {
      github.close()
    }
  })

  it('says what is missing when a relationship is named without a token source', async () => {
    const result = await cli.run(['keys', 'list'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TRUST_RELATIONSHIP: 'trs_00000000000000000000000000' },
    })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('KEYSTASH_OIDC_TOKEN_FILE')
  })
})
