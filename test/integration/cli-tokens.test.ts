import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliHarness, ERROR_LINE, startCliHarness } from './cli-helpers.ts'

let cli: CliHarness
beforeAll(async () => {
  cli = await startCliHarness()
})
afterAll(() => cli?.close())

describe('keystash tokens', { timeout: 60_000 }, () => {
  it('restricts a token to address ranges with --cidr', async () => {
    await cli.loginAsNewUser()
    const created = await cli.run([
      'tokens',
      'create',
      '--name',
      'office',
      '--scope',
      'keys:list',
      '--expires-in',
      '1h',
      '--cidr',
      '192.0.2.0/24',
      '--json',
    ])
    expect(created.code).toBe(0)
    const token = JSON.parse(created.stdout)
    expect(token.cidrs).toEqual(['192.0.2.0/24'])
    // The CLI talks to the server over loopback, which is outside the range.
    const refused = await cli.run(['keys', 'list'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: token.token },
    })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('code address_not_allowed')
  })

  it('creates a token (printed once, alone on stdout), lists it and revokes it', async () => {
    await cli.loginAsNewUser()
    const created = await cli.run([
      'tokens',
      'create',
      '--name',
      'deploy',
      '--scope',
      'keys:read',
      '--scope',
      'keys:list',
      '--expires-in',
      '6h',
      '--environment',
      'staging',
    ])
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/^[A-Za-z0-9_.-]+\n$/)
    expect(created.stderr).toContain('This is the only time the token is shown')
    const token = created.stdout.trim()
    const env = { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: token }

    const me = JSON.parse((await cli.run(['whoami', '--json'], { env })).stdout)
    expect(me).toMatchObject({
      kind: 'access',
      name: 'deploy',
      scopes: ['keys:read', 'keys:list'],
      environment: 'staging',
    })
    const hours = (Date.parse(me.expiresAt) - Date.now()) / 3_600_000
    expect(hours).toBeGreaterThan(5.9)
    expect(hours).toBeLessThanOrEqual(6)

    const list = await cli.run(['tokens', 'list'])
    expect(list.code).toBe(0)
    const row = list.stdout.split('\n').find((line) => line.startsWith(me.tokenId))
    expect(row).toMatch(/ deploy +access +active +keys:read,keys:list +staging +all /)
    expect(list.stdout).not.toContain(token)

    const revoke = await cli.run(['tokens', 'revoke', me.tokenId])
    expect(revoke).toMatchObject({ code: 0, stderr: `Revoked ${me.tokenId}.\n` })
    const listed = JSON.parse((await cli.run(['tokens', 'list', '--json'])).stdout)
    expect(listed.find((t: { id: string }) => t.id === me.tokenId).revokedAt).not.toBeNull()

    const after = await cli.run(['keys', 'list'], { env })
    expect(after.code).toBe(3)
    expect(after.stderr).toMatch(ERROR_LINE)
    expect(after.stderr).toContain('code token_revoked')
  })

  it('--json prints the whole created token', async () => {
    await cli.loginAsNewUser()
    const created = await cli.run([
      'tokens',
      'create',
      '--json',
      '--name',
      'ci',
      '--scope',
      'keys:read',
      '--expires-in',
      '3600',
      '--key',
      'openai-*',
    ])
    expect(created.stderr).toBe('')
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'ci',
      kind: 'access',
      keys: ['openai-*'],
      environment: 'production',
      token: expect.any(String),
    })
  })

  it('checks its arguments before calling the server', async () => {
    const base = ['tokens', 'create', '--name', 'x', '--scope', 'keys:read']
    for (const args of [
      [...base, '--expires-in', 'soon'],
      [...base.slice(0, 4), '--expires-in', '1h'],
      [...base, '--scope', 'keys:everything', '--expires-in', '1h'],
      [...base, '--expires-in', '1h', '--environment', 'prod'],
    ]) {
      const result = await cli.run(args)
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/^error: .+ \(see keystash tokens create --help\)\n$/)
    }
  })

  it('revoking another organization’s token is not found (exit 5)', async () => {
    const other = await cli.signup()
    const otherMe = await cli.run(['whoami', '--json'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: other.session },
    })
    await cli.loginAsNewUser()
    const result = await cli.run(['tokens', 'revoke', JSON.parse(otherMe.stdout).tokenId])
    expect(result.code).toBe(5)
    expect(result.stderr).toMatch(ERROR_LINE)
  })
})

describe('keystash --help', { timeout: 60_000 }, () => {
  const commands = [
    ['login'],
    ['logout'],
    ['whoami'],
    ['keys', 'list'],
    ['keys', 'get'],
    ['keys', 'create'],
    ['keys', 'set'],
    ['keys', 'versions'],
    ['keys', 'delete'],
    ['keys', 'reveal'],
    ['import'],
    ['run'],
    ['tokens', 'create'],
    ['tokens', 'list'],
    ['tokens', 'revoke'],
    ['dev'],
  ]

  it('describes every command, and the exit codes at the top', async () => {
    const top = await cli.run(['--help'])
    expect(top.code).toBe(0)
    for (const words of commands) expect(top.stdout).toContain(`  ${words.join(' ')} `)
    for (const code of [0, 1, 2, 3, 4, 5, 6, 7, 8])
      expect(top.stdout).toMatch(new RegExp(`^  ${code}  `, 'm'))

    for (const words of [...commands, ['keys'], ['tokens']]) {
      const help = await cli.run([...words, '--help'])
      expect(help.code).toBe(0)
      expect(help.stdout).toMatch(new RegExp(`^Usage: keystash ${words.join(' ')}`))
    }
  })

  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await cli.run(['frobnicate'])).code).toBe(2)
    expect((await cli.run(['keys', 'frobnicate'])).code).toBe(2)
    const option = await cli.run(['keys', 'list', '--nope'])
    expect(option.code).toBe(2)
    expect(option.stderr).toBe("error: Unknown option '--nope' (see keystash keys list --help)\n")
  })
})
