import { readFile, stat, writeFile } from 'node:fs/promises'
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
let values: Record<string, string>
beforeAll(async () => {
  cli = await startCliHarness()
  await cli.loginAsNewUser()
  const fixture = dotenvFixture()
  values = fixture.values
  const file = join(cli.home, 'app.env')
  await writeFile(file, fixture.text)
  const imported = await cli.run(['import', file])
  if (imported.code !== 0) throw new Error(imported.stderr)
  // A name that is not a variable name: listed, but only reachable through --map.
  await cli.run(['keys', 'create', 'openai-prod', '--value-stdin'], { input: 'sk-proj-prod-1234' })
})
afterAll(() => cli?.close())

const node = (code: string, ...args: string[]) => ['node', '-e', code, ...args]
const mustNotLeak = (output: string) => {
  for (const value of [...Object.values(values), 'sk-proj-prod-1234']) {
    expect(output).not.toContain(value)
  }
}

describe('keystash run', { timeout: 60_000 }, () => {
  it('exposes every key under its name and leaves no value in its own output', async () => {
    const result = await cli.run([
      'run',
      '--',
      ...node(
        'console.log(process.env.OPENAI_API_KEY.length, process.env.MULTILINE_CERT.split("\\n").length)',
      ),
    ])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`${values.OPENAI_API_KEY?.length} 3\n`)
    // The only thing keystash itself says: which key it could not expose, by name.
    expect(result.stderr).toBe(
      'keystash: not exposed (not variable names, use --map NAME=REF): openai-prod\n',
    )
    mustNotLeak(result.stdout + result.stderr)
  })

  it('passes the values exactly', async () => {
    const result = await cli.run([
      'run',
      '--',
      ...node('process.stdout.write(JSON.stringify(process.env))'),
    ])
    const env = JSON.parse(result.stdout)
    for (const [name, value] of Object.entries(values)) expect(env[name]).toBe(value)
  })

  it('passes the exit code through, also without --', async () => {
    expect((await cli.run(['run', '--', ...node('process.exit(7)')])).code).toBe(7)
    expect((await cli.run(['run', ...node('process.exit(3)')])).code).toBe(3)
  })

  it('--map exposes only the mapped keys, under the given names', async () => {
    const result = await cli.run([
      'run',
      '--map',
      'OPENAI=openai-prod',
      '--map',
      'STRIPE=STRIPE_SECRET_KEY',
      '--',
      ...node(
        'console.log(process.env.OPENAI, process.env.STRIPE === process.argv[1], process.env.OPENAI_API_KEY)',
        values.STRIPE_SECRET_KEY as string,
      ),
    ])
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(result.stdout).toBe('sk-proj-prod-1234 true undefined\n')
  })

  it('--key-prefix and --env-prefix rename the listed keys', async () => {
    const result = await cli.run([
      'run',
      '--key-prefix',
      'OPENAI_',
      '--env-prefix',
      'APP_',
      '--',
      ...node('console.log(Object.keys(process.env).filter((k) => k.startsWith("APP_")).join())'),
    ])
    expect(result.stdout).toBe('APP_API_KEY\n')
  })

  it('a key that cannot be fetched stops the command before it starts', async () => {
    const marker = join(cli.home, `started-${random(6)}`)
    const result = await cli.run([
      'run',
      '--map',
      'MISSING=no-such-key',
      '--map',
      'OPENAI=OPENAI_API_KEY',
      '--',
      ...node('require("fs").writeFileSync(process.argv[1], "ran")', marker),
    ])
    expect(result.code).toBe(5)
    expect(result.stderr).toMatch(ERROR_LINE)
    expect(result.stderr).toMatch(/^error: key no-such-key: /)
    await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' })
    mustNotLeak(result.stdout + result.stderr)
  })

  it('works with an access token from KEYSTASH_TOKEN that can only read one key', async () => {
    const minted = await cli.run([
      'tokens',
      'create',
      '--name',
      'ci',
      '--scope',
      'keys:read',
      '--key',
      'OPENAI_API_KEY',
      '--expires-in',
      '10m',
    ])
    const env = { KEYSTASH_URL: cli.url, KEYSTASH_TOKEN: minted.stdout.trim() }
    const mapped = await cli.run(
      ['run', '--map', 'KEY=OPENAI_API_KEY', '--', ...node('console.log(process.env.KEY.length)')],
      { env },
    )
    expect(mapped.stdout).toBe(`${values.OPENAI_API_KEY?.length}\n`)
    // Listing needs keys:list: without --map the command does not run.
    const listing = await cli.run(['run', '--', ...node('console.log("ran")')], { env })
    expect(listing.code).toBe(4)
    expect(listing.stdout).toBe('')
  })

  it('forwards SIGTERM to the command and exits with its code', async () => {
    const marker = join(cli.home, `signal-${random(6)}`)
    const running = cli.start([
      'run',
      '--',
      ...node(
        `process.on('SIGTERM', () => { require('fs').writeFileSync(process.argv[1], 'SIGTERM'); process.exit(0) })
         console.log('ready'); setInterval(() => {}, 1000)`,
        marker,
      ),
    ])
    await running.stdoutContains('ready')
    running.process.kill('SIGTERM')
    const result = await running.result
    expect(result.code).toBe(0)
    expect(await readFile(marker, 'utf8')).toBe('SIGTERM')
  })

  it('exits with 128 + N when signal N ends the command', async () => {
    const running = cli.start([
      'run',
      '--',
      ...node("console.log('ready'); setInterval(() => {}, 1000)"),
    ])
    await running.stdoutContains('ready')
    running.process.kill('SIGINT')
    const result = await running.result
    expect(result).toMatchObject({ code: 130, signal: null })
  })

  it('reports a command that does not exist as 127', async () => {
    const result = await cli.run(['run', '--map', 'K=OPENAI_API_KEY', '--', 'no-such-command-xyz'])
    expect(result.code).toBe(127)
    expect(result.stderr).toBe('error: command not found: no-such-command-xyz\n')
  })
})
