import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCodeAt } from '../../src/auth/totp.ts'
import { client } from '../support/stack.ts'
import { type CliHarness, startCliHarness } from './cli-helpers.ts'

let cli: CliHarness
beforeAll(async () => {
  cli = await startCliHarness()
})
afterAll(() => cli?.close())

describe('keystash login with a second factor', { timeout: 60_000 }, () => {
  it('takes a recovery code (or a code) after the password, and refuses without one', async () => {
    const user = await cli.signup()
    const api = client(cli.server.stack.app)
    const started = await api.post('/v1/me/mfa/totp', {}, user.session)
    const confirmed = await api.post(
      '/v1/me/mfa/totp/confirm',
      { code: totpCodeAt(started.body.secret, Date.now()) },
      user.session,
    )
    const [recoveryCode] = confirmed.body.recoveryCodes as string[]
    const args = ['login', '--url', cli.url, '--email', user.email, '--password-stdin']

    const missing = await cli.run(args, { input: `${user.password}\n` })
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain('give --code')

    const wrong = await cli.run([...args, '--code', 'ZZZZ-ZZZZ-ZZZZ-ZZZZ'], {
      input: `${user.password}\n`,
    })
    expect(wrong.code).toBe(3)
    expect(wrong.stderr).toContain('code mfa_code_invalid')

    const login = await cli.run([...args, '--code', recoveryCode ?? ''], {
      input: `${user.password}\n`,
    })
    expect(login.code).toBe(0)
    const whoami = await cli.run(['whoami', '--json'])
    expect(JSON.parse(whoami.stdout)).toMatchObject({ kind: 'session', userId: user.userId })
  })
})
