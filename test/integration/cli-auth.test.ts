import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliHarness, ERROR_LINE, startCliHarness } from './cli-helpers.ts'

let cli: CliHarness
beforeAll(async () => {
  cli = await startCliHarness()
})
afterAll(() => cli?.close())

const credentialsFile = () => join(cli.configDir, 'keystash', 'credentials.json')

describe('keystash login, whoami, logout', { timeout: 60_000 }, () => {
  it('logs in with --password-stdin and keeps only a session, readable by the user alone', async () => {
    const user = await cli.signup()
    const login = await cli.run(
      ['login', '--url', cli.url, '--email', user.email, '--password-stdin'],
      { input: `${user.password}\n` },
    )
    expect(login.code).toBe(0)
    expect(login.stdout).toBe('')
    expect(login.stderr).toContain(`Logged in to ${cli.url} as ${user.email}`)

    const file = await stat(credentialsFile())
    expect(file.mode & 0o777).toBe(0o600)
    expect((await stat(join(cli.configDir, 'keystash'))).mode & 0o777).toBe(0o700)
    const text = await readFile(credentialsFile(), 'utf8')
    expect(text).not.toContain(user.password)
    const stored = JSON.parse(text)
    expect(stored).toMatchObject({ url: cli.url, email: user.email })
    expect(Object.keys(stored).sort()).toEqual(['email', 'expiresAt', 'token', 'url'])
    // The token is never printed.
    expect(login.stderr).not.toContain(stored.token)

    const whoami = await cli.run(['whoami'])
    expect(whoami.code).toBe(0)
    expect(whoami.stdout).toMatch(/^kind +session$/m)
    expect(whoami.stdout).toMatch(new RegExp(`^email +${user.email}$`, 'm'))
    expect(whoami.stdout).toMatch(new RegExp(`^organization +${user.tenantId}$`, 'm'))
    expect(whoami.stdout).not.toContain(stored.token)

    const json = await cli.run(['whoami', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({
      url: cli.url,
      source: 'credentials',
      kind: 'session',
      tenantId: user.tenantId,
      userId: user.userId,
    })
  })

  it('logout revokes the session on the server and deletes the file', async () => {
    await cli.loginAsNewUser()
    const { token } = JSON.parse(await readFile(credentialsFile(), 'utf8'))

    const logout = await cli.run(['logout'])
    expect(logout.code).toBe(0)
    await expect(stat(credentialsFile())).rejects.toMatchObject({ code: 'ENOENT' })

    // The old session is dead on the server, not just forgotten here: 401 -> exit 3.
    const reused = await cli.run(['whoami'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: token },
    })
    expect(reused.code).toBe(3)
    expect(reused.stderr).toMatch(ERROR_LINE)
    expect(reused.stderr).toContain('code token_revoked')

    const notLoggedIn = await cli.run(['whoami'])
    expect(notLoggedIn.code).toBe(3)
    expect(notLoggedIn.stderr).toMatch(/^error: not logged in/)
  })

  it('logging in again revokes the previous session', async () => {
    await cli.loginAsNewUser()
    const first = JSON.parse(await readFile(credentialsFile(), 'utf8')).token
    await cli.loginAsNewUser()
    const second = JSON.parse(await readFile(credentialsFile(), 'utf8')).token
    expect(second).not.toBe(first)
    const env = (token: string) => ({ env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: token } })
    expect((await cli.run(['whoami'], env(first))).code).toBe(3)
    expect((await cli.run(['whoami'], env(second))).code).toBe(0)
  })

  it('a wrong password is one error line with the request id, and exit 3', async () => {
    const user = await cli.signup()
    const login = await cli.run(
      ['login', '--url', cli.url, '--email', user.email, '--password-stdin'],
      { input: 'not the password\n' },
    )
    expect(login.code).toBe(3)
    expect(login.stderr).toMatch(ERROR_LINE)
    expect(login.stderr).not.toContain('not the password')
    const requestId = /request (\S+)\)/.exec(login.stderr)?.[1]
    expect(cli.server.stack.logs.text()).toContain(requestId)
  })

  it('refuses to read a password without a terminal or --password-stdin', async () => {
    const result = await cli.run(['login', '--url', cli.url, '--email', 'a@example.com'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--password-stdin')
  })

  it('KEYSTASH_URL and KEYSTASH_TOKEN win over the stored session', async () => {
    await cli.loginAsNewUser()
    const other = await cli.signup()
    const whoami = await cli.run(['whoami', '--json'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: other.session },
    })
    expect(whoami.code).toBe(0)
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      source: 'KEYSTASH_TOKEN',
      tenantId: other.tenantId,
    })
  })

  it('never sends the stored session to another server named by KEYSTASH_URL', async () => {
    await cli.loginAsNewUser()
    const result = await cli.run(['whoami'], { env: { KEYSTASH_URL: 'http://127.0.0.1:9' } })
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('the stored session is for')
  })

  it('an unreachable server is exit 8', async () => {
    const user = await cli.signup()
    const result = await cli.run(['whoami'], {
      env: { KEYSTASH_URL: 'http://127.0.0.1:9', KEYSTASH_TOKEN: user.session },
    })
    expect(result.code).toBe(8)
    expect(result.stderr).toMatch(/^error: .+ \(code connection_error\)\n$/)
  })
})
