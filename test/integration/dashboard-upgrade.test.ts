import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import { dashboardAgent } from '../support/dashboard-forms.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  RELEASES,
  tableWrittenByPreviousRelease,
  upgrade,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

// The dashboard and the usage counters need no migration step of their own: they read what the
// previous release stored (keys, tokens, sessions, the audit trail) and only add new items
// (usage counters). This checks it on a table the previous release's own server wrote.

let kms: LocalKms
let table: TestTable
let data: PreviousReleaseData
let stack: Stack

beforeAll(async () => {
  ;({ kms, table, data } = await tableWrittenByPreviousRelease(RELEASES.first))
  await upgrade(table)
  stack = await startStack({ kms, table })
}, 120_000)
afterAll(async () => {
  await stack?.close()
  await kms?.close()
})

describe('the dashboard on a table written by the previous release', () => {
  it('signs in and lists what was stored before the upgrade', async () => {
    const agent = dashboardAgent(stack.app)
    const login = await agent.post('/login', { email: data.email, password: data.password })
    expect(login.res.status).toBe(303)
    const keys = await agent.get('/keys')
    for (const key of data.keys) expect(keys.text).toContain(`>${key.name}</a>`)
    const tokens = await agent.get('/tokens')
    expect(tokens.res.status).toBe(200)
    expect(tokens.text).toContain('revoked')
    const audit = await agent.get('/audit/verify')
    expect(audit.text).toMatch(/Intact: \d+ events in \d+ chains/)
  })

  it('takes a session issued before the upgrade as its cookie', async () => {
    const res = await stack.app.request('/', {
      headers: { cookie: `keystash_session=${data.session}` },
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<h1>Review access</h1>')
  })

  it('starts counting usage from the upgrade on', async () => {
    const agent = dashboardAgent(stack.app)
    await agent.post('/login', { email: data.email, password: data.password })
    expect((await agent.get('/usage')).text).toContain('No key was read in this period.')
    const [first] = data.keys
    const api = client(stack.app)
    expect((await api.get(`/v1/keys/${first?.name}/value`, data.tokens[0]?.token)).status).toBe(200)
    await stack.deps.usage.flush()
    const usage = await agent.get('/usage')
    expect(usage.text).toContain(`<th scope="row">${first?.name}</th><td>1</td>`)
  })
})
