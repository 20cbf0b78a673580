import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  RELEASES,
  tableWrittenByPreviousRelease,
  upgrade,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

/**
 * The token tree on a table written by the previous release: `002-token-ancestors` gives the
 * tokens it minted their ancestors, so revoking a parent minted before the upgrade stops its
 * children; and tokens holding the earlier `org:admin` keep the powers it was split into.
 */
describe('the token tree after upgrading a previous release’s table', () => {
  let kms: LocalKms
  let table: TestTable
  let data: PreviousReleaseData
  let stack: Stack
  let backfill: string | undefined

  beforeAll(async () => {
    ;({ kms, table, data } = await tableWrittenByPreviousRelease(RELEASES.first))
    const outcomes = await upgrade(table)
    backfill = outcomes.find((o) => o.id === '002-token-ancestors')?.detail
    stack = await startStack({ kms, table })
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await kms?.close()
  })

  const ancestorsOf = async (tokenId: string) =>
    (
      await table.doc.send(
        new GetCommand({
          TableName: table.tableName,
          Key: { pk: `ORG#${data.tenantId}`, sk: `TOKEN#${tokenId}` },
        }),
      )
    ).Item?.ancestors

  it('records each token’s ancestors', async () => {
    // Four live tokens and the revoked one, all minted before the upgrade.
    expect(backfill).toBe('5 of 5 access token(s) given their ancestors')
    const [admin, billing] = data.tokens
    expect(await ancestorsOf(admin?.id ?? '')).toEqual([])
    expect(await ancestorsOf(billing?.id ?? '')).toEqual([])
    expect(await ancestorsOf(data.childToken.id)).toEqual([admin?.id])
  })

  it('keeps org:admin tokens working as the scopes it was split into', async () => {
    const api = client(stack.app)
    const admin = data.tokens[0]?.token
    expect((await api.get('/v1/org', admin)).status).toBe(200)
    expect((await api.get('/v1/org/encryption', admin)).status).toBe(200)
    const changed = await api.patch('/v1/org', { mockDefaults: { staging: 'live' } }, admin)
    expect(changed.status).toBe(200)
    expect((await api.get('/v1/me', admin)).body.scopes).toEqual(
      expect.arrayContaining(['org:read', 'org:write', 'mock:write', 'encryption:write']),
    )
  })

  it('lets the older session manage every token, and revoking a parent stops its child', async () => {
    const api = client(stack.app)
    const [admin] = data.tokens
    const listed = (await api.get('/v1/tokens', data.session)).body.items
    expect(listed.map((t: { id: string }) => t.id)).toContain(data.childToken.id)
    // The admin token sees its child only.
    const mine = (await api.get('/v1/tokens', admin?.token)).body.items
    expect(mine.map((t: { id: string }) => t.id)).toEqual([data.childToken.id])

    expect((await api.get('/v1/keys/openai/value', data.childToken.token)).status).toBe(200)
    expect((await api.delete(`/v1/tokens/${admin?.id}`, data.session)).status).toBe(204)
    const child = await api.get('/v1/keys/openai/value', data.childToken.token)
    expect([child.status, child.body.code]).toEqual([401, 'token_revoked'])
  })
})
