import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CliHarness,
  dotenvFixture,
  ERROR_LINE,
  random,
  startCliHarness,
} from './cli-helpers.ts'

let cli: CliHarness
beforeAll(async () => {
  cli = await startCliHarness()
})
afterAll(() => cli?.close())

async function importFixture(args: string[] = []) {
  const { values, text } = dotenvFixture()
  const file = join(cli.home, `app-${random(6)}.env`)
  await writeFile(file, text)
  return { values, file, result: await cli.run(['import', file, ...args]) }
}

describe('keystash keys and import', { timeout: 90_000 }, () => {
  it('imports a .env file: one key per entry, named after the variable, values exact', async () => {
    await cli.loginAsNewUser()
    const { values, file, result } = await importFixture()
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('5 created, 0 updated, 0 skipped, 0 failed\n')
    const rows = result.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^KEY +ACTION +VERSION +NOTE$/)
    expect(rows.slice(1).map((r) => r.split(/ +/).slice(0, 3))).toEqual(
      Object.keys(values).map((name) => [name, 'created', '1']),
    )
    for (const value of Object.values(values)) expect(result.stdout).not.toContain(value)

    for (const [name, value] of Object.entries(values)) {
      const reveal = await cli.run(['keys', 'reveal', name])
      expect(reveal).toMatchObject({ code: 0, stdout: value, stderr: '' })
    }

    const again = await cli.run(['import', file])
    expect(again.stderr).toBe('0 created, 0 updated, 5 skipped, 0 failed\n')
    const update = await cli.run(['import', file, '--update', '--json'])
    expect(update.code).toBe(0)
    expect(JSON.parse(update.stdout)).toEqual(
      Object.keys(values).map((name, i) => ({
        name,
        line: [2, 3, 5, 6, 7][i],
        action: 'updated',
        version: 2,
        reason: null,
      })),
    )
  })

  it('lists keys as a table and as JSON, never with values', async () => {
    await cli.loginAsNewUser()
    const { values } = await importFixture()
    const names = Object.keys(values).sort()

    const list = await cli.run(['keys', 'list'])
    expect(list.code).toBe(0)
    const [header, ...rows] = list.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^NAME +PROVIDER +VERSION +TAGS +UPDATED +LAST USED$/)
    expect(rows.map((r) => r.split(/ +/)[0])).toEqual(names)
    expect(rows.find((r) => r.startsWith('OPENAI_API_KEY'))).toMatch(/^OPENAI_API_KEY +openai +1 /)

    const json = await cli.run(['keys', 'list', '--json'])
    const keys = JSON.parse(json.stdout)
    expect(keys.map((k: { name: string }) => k.name)).toEqual(names)
    expect(keys[0]).toHaveProperty('id')
    for (const value of Object.values(values)) {
      expect(list.stdout + json.stdout).not.toContain(value)
    }
  })

  it('creates, versions and reveals a key; reveal pipes exactly the value', async () => {
    await cli.loginAsNewUser()
    const first = `sk-proj-${random(48)}`
    const second = `sk-proj-${random(48)}`
    const create = await cli.run(
      ['keys', 'create', 'openai', '--value-stdin', '--tag', 'team:ml'],
      {
        input: `${first}\n`,
      },
    )
    expect(create.code).toBe(0)
    expect(create.stdout).toMatch(/^provider +openai$/m)
    expect(create.stdout).toMatch(/^tags +team:ml$/m)
    expect(create.stdout).not.toContain(first)

    const set = await cli.run(['keys', 'set', 'openai', '--from-env', 'NEW_VALUE'], {
      env: { NEW_VALUE: second },
    })
    expect(set).toMatchObject({ code: 0, stderr: 'Stored version 2 of openai.\n' })

    const versions = await cli.run(['keys', 'versions', 'openai', '--json'])
    expect(JSON.parse(versions.stdout).map((v: { version: number }) => v.version)).toEqual([1, 2])

    // Exactly the value: no newline, nothing on stderr (stdout is a pipe here).
    expect(await cli.run(['keys', 'reveal', 'openai'])).toMatchObject({
      code: 0,
      stdout: second,
      stderr: '',
    })
    const old = await cli.run(['keys', 'reveal', 'openai', '--version', '1'])
    expect(old.stdout).toBe(first)

    const get = await cli.run(['keys', 'get', 'openai', '--json'])
    expect(JSON.parse(get.stdout)).toMatchObject({ name: 'openai', currentVersion: 2 })
  })

  it('refuses a value given as an argument, without echoing it', async () => {
    await cli.loginAsNewUser()
    const secret = `sk-proj-${random(48)}`
    for (const args of [
      ['keys', 'create', 'openai', secret],
      ['keys', 'set', 'openai', secret],
    ]) {
      const result = await cli.run(args)
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/^error: refusing a value given as an argument/)
      expect(result.stderr).not.toContain(secret)
    }
    const list = await cli.run(['keys', 'list', '--json'])
    expect(JSON.parse(list.stdout)).toEqual([])
  })

  it('maps server errors to one line and the documented exit codes', async () => {
    const user = await cli.loginAsNewUser()
    await cli.run(['keys', 'create', 'stripe', '--value-stdin'], { input: 'sk_test_123456789' })

    const missing = await cli.run(['keys', 'get', 'nope'])
    expect(missing.code).toBe(5)
    expect(missing.stderr).toMatch(ERROR_LINE)
    expect(missing.stderr).toContain('code not_found')

    const taken = await cli.run(['keys', 'create', 'stripe', '--value-stdin'], { input: 'x' })
    expect(taken.code).toBe(6)
    expect(taken.stderr).toMatch(ERROR_LINE)

    const invalid = await cli.run(['keys', 'create', 'bad name!', '--value-stdin'], { input: 'x' })
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toMatch(ERROR_LINE)

    // An access token that may list but not read values: 403 -> 4.
    const minted = await cli.run([
      'tokens',
      'create',
      '--name',
      'lister',
      '--scope',
      'keys:list',
      '--expires-in',
      '1h',
    ])
    const token = minted.stdout.trim()
    const forbidden = await cli.run(['keys', 'reveal', 'stripe'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: token },
    })
    expect(forbidden.code).toBe(4)
    expect(forbidden.stderr).toMatch(ERROR_LINE)
    expect(forbidden.stderr).toContain('code insufficient_scope')
    expect(forbidden.stdout).toBe('')

    const unauthenticated = await cli.run(['keys', 'list'], {
      env: { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: `${user.session}x` },
    })
    expect(unauthenticated.code).toBe(3)
    expect(unauthenticated.stderr).toMatch(ERROR_LINE)
  })

  it('deletes only with --yes when not on a terminal', async () => {
    await cli.loginAsNewUser()
    await cli.run(['keys', 'create', 'twilio', '--value-stdin'], { input: 'secret-value-1' })
    const refused = await cli.run(['keys', 'delete', 'twilio'])
    expect(refused.code).toBe(2)
    expect((await cli.run(['keys', 'get', 'twilio'])).code).toBe(0)

    expect((await cli.run(['keys', 'delete', 'twilio', '--yes'])).code).toBe(0)
    expect((await cli.run(['keys', 'get', 'twilio'])).code).toBe(5)
  })
  it('stores a key’s lifetime and lists by it: --expiring, --never-used, --rotation-due', async () => {
    await cli.loginAsNewUser()
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString()
    const created = await cli.run(
      [
        'keys',
        'create',
        'soon',
        '--value-stdin',
        '--expires-at',
        soon,
        '--rotate-every',
        '90d',
        '--json',
      ],
      { input: 'value-1' },
    )
    expect(created.code).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({ expiresAt: soon, rotateEveryDays: 90 })
    await cli.run(['keys', 'create', 'plain', '--value-stdin'], { input: 'value-2' })
    const listed = async (...args: string[]) =>
      JSON.parse((await cli.run(['keys', 'list', '--json', ...args])).stdout).map(
        (k: { name: string }) => k.name,
      )
    expect(await listed('--expiring', '30d')).toEqual(['soon'])
    expect(await listed('--expiring', '1w')).toEqual([])
    expect(await listed('--never-used')).toEqual(['plain', 'soon'])
    expect(await listed('--rotation-due')).toEqual([])
    const bad = await cli.run(['keys', 'list', '--unused', 'soon'])
    expect(bad.code).toBe(2)
  })
})
