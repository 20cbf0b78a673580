import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type SdkServer, startSdkServer } from '../sdk/support/server.ts'
import { client, signup } from '../support/stack.ts'

export const BIN = fileURLToPath(new URL('../../bin/keystash.js', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** Standard input; closed at once when missing. */
  input?: string
  env?: Record<string, string>
}

/**
 * The real binary (`node bin/keystash.js`), started from a temporary directory (it must work
 * from any working directory) with HOME and XDG_CONFIG_HOME pointing into it.
 */
export interface CliHarness {
  server: SdkServer
  url: string
  home: string
  configDir: string
  /** Runs the CLI to completion. */
  run(args: readonly string[], options?: CliOptions): Promise<CliResult>
  /** Starts the CLI and hands back the process, for signals and streaming output. */
  start(args: readonly string[], options?: CliOptions): RunningCli
  /** A new organization with its owner's e-mail, password and session. */
  signup(): ReturnType<typeof signup>
  /** Logs the CLI in (with --password-stdin) as a new organization's owner. */
  loginAsNewUser(): Promise<Awaited<ReturnType<typeof signup>>>
  close(): Promise<void>
}

export interface RunningCli {
  process: ChildProcess
  result: Promise<CliResult>
  /** Resolves once stdout contains `text`. */
  stdoutContains(text: string): Promise<void>
  /** Resolves with standard error so far once it matches `pattern`. */
  stderrMatches(pattern: RegExp): Promise<RegExpExecArray>
}

export async function startCliHarness(serverEnv: Record<string, string> = {}): Promise<CliHarness> {
  const server = await startSdkServer(serverEnv)
  const home = await mkdtemp(join(tmpdir(), 'keystash-cli-'))
  const configDir = join(home, 'config')

  const start = (args: readonly string[], options: CliOptions = {}): RunningCli => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CONFIG_HOME: configDir,
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const waiters: Array<{ text: string; resolve: () => void }> = []
    const errWaiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = []
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      for (const w of waiters.filter((w) => stdout.includes(w.text))) w.resolve()
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      for (const w of errWaiters) {
        const match = w.pattern.exec(stderr)
        if (match) w.resolve(match)
      }
    })
    child.stdin.end(options.input ?? '')
    const result = new Promise<CliResult>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    })
    return {
      process: child,
      result,
      stderrMatches: (pattern) => {
        const now = pattern.exec(stderr)
        if (now) return Promise.resolve(now)
        return new Promise<RegExpExecArray>((resolve, reject) => {
          errWaiters.push({ pattern, resolve })
          result.then(
            (r) => reject(new Error(`exited (${r.code}) before printing ${pattern}: ${r.stderr}`)),
            reject,
          )
        })
      },
      stdoutContains: (text) =>
        stdout.includes(text)
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              waiters.push({ text, resolve })
              result.then(
                (r) => reject(new Error(`exited (${r.code}) before printing ${text}: ${r.stderr}`)),
                reject,
              )
            }),
    }
  }

  const harness: CliHarness = {
    server,
    url: server.url,
    home,
    configDir,
    start,
    run: (args, options) => start(args, options).result,
    signup: () => signup(client(server.stack.app)),
    async loginAsNewUser() {
      const user = await harness.signup()
      const login = await harness.run(
        ['login', '--url', server.url, '--email', user.email, '--password-stdin'],
        { input: `${user.password}\n` },
      )
      if (login.code !== 0) throw new Error(`login failed: ${login.stderr}`)
      return user
    },
    async close() {
      await server.close()
      await rm(home, { recursive: true, force: true })
    },
  }
  return harness
}

/** `error: <detail> (code <code>, request <id>)`, alone on its line. */
export const ERROR_LINE = /^error: .+ \(code [a-z_]+, request [A-Za-z0-9_-]+\)\n$/

export const random = (n: number) => randomBytes(n).toString('base64url').slice(0, n)

/** Five entries in five syntaxes, with values made up per run. */
export function dotenvFixture() {
  const values = {
    OPENAI_API_KEY: `sk-proj-${random(48)}`,
    ANTHROPIC_API_KEY: `sk-ant-api03-${random(40)}`,
    STRIPE_SECRET_KEY: `sk_test_${random(32)}`,
    DATABASE_URL: `postgres://app:${random(12)}@db.internal/app?ssl=1#primary`,
    MULTILINE_CERT: `-----BEGIN-----\n${random(20)}\n-----END-----`,
  }
  const text = `# Keys for the app
OPENAI_API_KEY=${values.OPENAI_API_KEY}
export ANTHROPIC_API_KEY = "${values.ANTHROPIC_API_KEY}"   # inline comment

STRIPE_SECRET_KEY='${values.STRIPE_SECRET_KEY}'
DATABASE_URL="${values.DATABASE_URL}"
MULTILINE_CERT="${values.MULTILINE_CERT.replaceAll('\n', '\\n')}"
`
  return { values, text }
}
