import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'
import { tableText } from '../support/table-text.ts'
import { codeOf } from '../support/teams.ts'
import { allAuditItems } from './audit-helpers.ts'

/**
 * The one-time secrets of teams (invitation codes) are like passwords: they appear in the
 * response that creates them (or the mail that carries them) and in the request that spends
 * them, and nowhere the server keeps anything: no log line at any level, error body, audit
 * event or DynamoDB item.
 */
let stack: Stack
beforeAll(async () => {
  stack = await startStack({
    env: { LOG_LEVEL: 'trace', KEYSTASH_PUBLIC_URL: 'https://vault.example.test' },
  })
})
afterAll(() => stack?.close())

describe('invitation secrets never leak', () => {
  it('are absent from stored items, logs, audit events and error bodies', async () => {
    const api = client(stack.app)
    const owner = await signup(api)
    const invitee = await signup(api)
    const stranger = await signup(api)
    const secrets: string[] = []
    const bodies: string[] = []
    const invite = async (email: string) => {
      const res = await api.post('/v1/org/invitations', { email, role: 'developer' }, owner.session)
      expect(res.status).toBe(201)
      const code = codeOf(res.body.link)
      secrets.push(code, code.split('.')[2] ?? code)
      return { code, id: res.body.invitation.id as string }
    }

    const accepted = await invite(invitee.email)
    const revoked = await invite(`someone-${Date.now()}@example.com`)
    const pending = await invite(stranger.email)
    // Refused uses: another address, a revoked one, a tampered one.
    bodies.push(
      JSON.stringify(
        (await api.post('/v1/invitations/accept', { code: pending.code }, invitee.session)).body,
      ),
    )
    expect((await api.delete(`/v1/org/invitations/${revoked.id}`, owner.session)).status).toBe(204)
    bodies.push(
      JSON.stringify(
        (await api.post('/v1/invitations/accept', { code: revoked.code }, invitee.session)).body,
      ),
    )
    bodies.push(
      JSON.stringify(
        (await api.post('/v1/invitations/accept', { code: `${pending.code}x` }, stranger.session))
          .body,
      ),
    )
    // Accepted, then replayed.
    const ok = await api.post('/v1/invitations/accept', { code: accepted.code }, invitee.session)
    expect(ok.status).toBe(200)
    const replay = await api.post(
      '/v1/invitations/accept',
      { code: accepted.code },
      invitee.session,
    )
    expect(replay.body.code).toBe('invitation_invalid')
    bodies.push(JSON.stringify(replay.body))
    bodies.push(JSON.stringify((await api.get('/v1/org/invitations', owner.session)).body))

    await stack.deps.audit.flush()
    const haystacks = {
      table: await tableText(stack.table),
      logs: JSON.stringify(stack.logs.lines()),
      audit: JSON.stringify(await allAuditItems(stack)),
      bodies: bodies.join('\n'),
    }
    // Not vacuous: the table holds the invitations, and the logs the requests.
    expect(haystacks.table).toContain(accepted.id)
    expect(haystacks.logs).toContain('/v1/invitations/accept')
    for (const [where, text] of Object.entries(haystacks)) {
      const found = secrets.filter((secret) => text.includes(secret))
      expect({ where, found }).toEqual({ where, found: [] })
    }
  })
})
