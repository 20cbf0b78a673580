import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHostileIssuer } from '../support/hostile-issuer.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { tableText } from '../support/table-text.ts'
import { allAuditItems } from './audit-helpers.ts'

/**
 * Subject tokens (a workload's OIDC token) and the access tokens exchanged for them are
 * secrets: neither may reach a log line at any level, an error body, an audit event or a
 * DynamoDB item, whether the exchange succeeds or is refused.
 */

let stack: Stack
let issuer: Awaited<ReturnType<typeof startHostileIssuer>>
beforeAll(async () => {
  stack = await startStack({
    env: {
      LOG_LEVEL: 'trace',
      KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true',
      KEYSTASH_AUDIT_MODE: 'strict',
    },
  })
  issuer = await startHostileIssuer()
})
afterAll(async () => {
  await issuer?.close()
  await stack?.close()
})

describe('workload tokens never leak', () => {
  it('are absent from logs, error bodies, audit events and stored items', async () => {
    const api = client(stack.app)
    const { session } = await signup(api)
    const relationship = (
      await api.post(
        '/v1/trust-relationships',
        {
          name: 'ci',
          preset: 'github-actions',
          issuer: issuer.issuer('good'),
          audience: 'keystash-canary',
          conditions: [{ claim: '/repository_owner_id', value: '77' }],
          scopes: ['keys:read'],
          environment: 'production',
        },
        session,
      )
    ).body.id as string
    const now = Math.floor(Date.now() / 1000)
    const claims = (over: Record<string, unknown> = {}) => ({
      iss: issuer.issuer('good'),
      aud: 'keystash-canary',
      sub: 'repo:org/app:ref:refs/heads/main',
      repository_owner_id: '77',
      iat: now,
      exp: now + 300,
      jti: crypto.randomUUID(),
      ...over,
    })
    const exchange = (subject_token: string) =>
      api.post('/v1/auth/token', {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        audience: relationship,
      })

    const good = await issuer.sign(claims())
    const granted = await exchange(good)
    expect(granted.status).toBe(200)
    const refusedTokens = [
      good, // replayed
      await issuer.sign(claims({ aud: 'elsewhere' })),
      await issuer.sign(claims({ repository_owner_id: '78' })),
      await issuer.sign(claims(), { key: 'k2' }),
    ]
    const errors: string[] = []
    for (const token of refusedTokens) {
      const res = await exchange(token)
      expect(res.status).toBe(400)
      errors.push(JSON.stringify(res.body))
    }
    await stack.deps.lastUsed.settled()

    // A JWT's signature is what makes it usable: none may appear, nor the whole token.
    const secrets = [good, granted.body.access_token as string, ...refusedTokens].flatMap(
      (token) => [token, token.split('.')[2] as string],
    )
    const logs = stack.logs.text()
    const stored = await tableText(stack.table)
    // Audit blocks are compressed in the table: searched decompressed as well.
    const audit = JSON.stringify(await allAuditItems(stack))
    expect(logs.length).toBeGreaterThan(1000)
    expect(audit.match(/token\.exchange/g)?.length).toBe(5)
    for (const secret of secrets) {
      expect(logs).not.toContain(secret)
      expect(stored).not.toContain(secret)
      expect(audit).not.toContain(secret)
      for (const body of errors) expect(body).not.toContain(secret)
    }
  })
})
