import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_CREDENTIALS } from '../../src/aws.ts'
import { type SsoProvider, startSsoProvider } from '../support/sso-provider.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// Break-glass: `npm run sso-off -- <organization>` run as the operator would, in its own
// process against the same table and KMS, turns "SSO required" off and is audited.

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

let stack: Stack
let idp: SsoProvider
beforeAll(async () => {
  idp = await startSsoProvider({ redirectUri: 'http://keystash.test/auth/sso/callback' })
  stack = await startStack({
    env: { KEYSTASH_PUBLIC_URL: 'http://keystash.test', KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true' },
  })
})
afterAll(async () => {
  await stack?.close()
  await idp?.close()
})

const ssoOff = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/sso-off.ts', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KEYSTASH_TABLE: stack.table.tableName,
      AWS_REGION: 'us-east-1',
      KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
      KEYSTASH_DYNAMODB_ENDPOINT: stack.table.endpoint,
      KEYSTASH_KMS_ENDPOINT: stack.kms.url,
      // All three AWS settings make it production mode: credentials come from the environment.
      AWS_ACCESS_KEY_ID: DEV_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DEV_CREDENTIALS.secretAccessKey,
    },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )

describe('npm run sso-off', { timeout: 60_000 }, () => {
  it('lets members sign in with passwords again, and leaves an audit event', async () => {
    const api = client(stack.app)
    const owner = await signup(api)
    const provider = idp.clients[0]
    const body = {
      issuer: idp.issuer,
      clientId: provider?.clientId,
      clientSecret: provider?.clientSecret,
      defaultRole: 'viewer',
      required: true,
    }
    expect((await api.put('/v1/org/sso', body, owner.session)).status).toBe(200)
    const refused = await api.post('/v1/auth/login', {
      email: owner.email,
      password: owner.password,
    })
    expect(refused.body.code).toBe('sso_required')

    const result = await ssoOff(owner.tenantId)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`no longer required for ${owner.tenantId}`)

    const login = await api.post('/v1/auth/login', { email: owner.email, password: owner.password })
    expect(login.status).toBe(200)
    const settings = await api.get('/v1/org/sso', owner.session)
    expect(settings.body).toMatchObject({ required: false, issuer: idp.issuer })
    const events = await api.get('/v1/audit?action=sso.required.clear', owner.session)
    expect(events.body.items).toHaveLength(1)
    expect(events.body.items[0].actor).toMatchObject({ type: 'system' })
  })

  it('refuses a malformed id and an organization without settings', async () => {
    expect((await ssoOff('not-an-org')).code).toBe(1)
    const plain = await signup(client(stack.app))
    const none = await ssoOff(plain.tenantId)
    expect(none.code).toBe(1)
    expect(none.stderr).toContain('no single sign-on settings')
  })
})
