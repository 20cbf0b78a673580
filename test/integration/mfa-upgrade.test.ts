import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCodeAt } from '../../src/auth/totp.ts'
import type { LocalKms } from '../../tools/kms-local/server.ts'
import type { TestTable } from '../support/dynamo.ts'
import {
  type PreviousReleaseData,
  tableWrittenByPreviousRelease,
  upgrade,
} from '../support/previous-release.ts'
import { client, type Stack, startStack } from '../support/stack.ts'

// Second factors need no migration step: a person without factor items has none, an
// organization without `mfaRequired` requires none, and a session without `mfaAt` used none.
// This checks it on a table the previous release's own server wrote.

let kms: LocalKms
let table: TestTable
let data: PreviousReleaseData
let stack: Stack

beforeAll(async () => {
  ;({ kms, table, data } = await tableWrittenByPreviousRelease())
  await upgrade(table)
  stack = await startStack({ kms, table })
}, 120_000)
afterAll(async () => {
  await stack?.close()
  await kms?.close()
})

describe('second factors on a table written by the previous release', () => {
  it('leaves earlier people and sessions as they were, and lets them add a factor', async () => {
    const api = client(stack.app)
    const login = await api.post('/v1/auth/login', { email: data.email, password: data.password })
    expect(login.body.session).toBeDefined()
    expect((await api.get('/v1/org/mfa', data.session)).body).toEqual({ required: false })
    const state = await api.get('/v1/me/mfa', data.session)
    expect(state.body).toMatchObject({ totp: { enabled: false }, recoveryCodesRemaining: 0 })

    const started = await api.post('/v1/me/mfa/totp', {}, data.session)
    const confirmed = await api.post(
      '/v1/me/mfa/totp/confirm',
      { code: totpCodeAt(started.body.secret, Date.now()) },
      data.session,
    )
    expect(confirmed.status).toBe(200)
    const again = await api.post('/v1/auth/login', { email: data.email, password: data.password })
    expect(again.body.mfa.purpose).toBe('verify')
    // The session issued by the previous release keeps working until a factor is required.
    expect((await api.get('/v1/keys', data.session)).status).toBe(200)
  })
})
