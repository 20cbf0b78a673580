import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SdkServer, startSdkServer } from '../sdk/support/server.ts'

/**
 * The CLI as its own package: `npm pack` in cli/ (which bundles it), then `npm install -g` of
 * the tarball into a prefix of its own, and the installed `keystash` run from there.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const exec = promisify(execFile)

// Each test runs whole programs (npm, tsc, attw, Deno, Bun) on a shared machine: more time than
// the suite's default, which is sized for in-process tests.
const PROGRAM_TIMEOUT = 120_000

let dir: string
let keystash: string
let server: SdkServer

/** Runs the installed command; resolves with its exit code and output either way. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(keystash, args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      timeout: 30_000,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystash-cli-pack-'))
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: join(ROOT, 'cli'),
    maxBuffer: 16 * 1024 * 1024,
  })
  const tarball = join(dir, JSON.parse(stdout.slice(stdout.indexOf('[')))[0].filename)
  const prefix = join(dir, 'global')
  await exec('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball])
  keystash = join(prefix, 'bin/keystash')
  server = await startSdkServer()
}, 180_000)

afterAll(async () => {
  await server?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('the keystash command, installed from its own packed tarball', {
  timeout: PROGRAM_TIMEOUT,
}, () => {
  it('is one bundled program with no dependencies', async () => {
    const installed = join(dir, 'global/lib/node_modules/@keystash/cli')
    const entries = await readdir(installed)
    expect(entries.sort()).toEqual(['README.md', 'dist', 'package.json'])
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'))
    expect(manifest.dependencies).toBeUndefined()
    const main = await readFile(join(installed, 'dist/keystash.js'), 'utf8')
    expect(main.startsWith('#!/usr/bin/env node\n')).toBe(true)
    // It imports Node's modules and its own chunks, nothing else (no tsx, no package).
    const imports = [...main.matchAll(/\b(?:from|import)\s*\(?\s*"([^"\s,]+)"/g)].map((m) => m[1])
    expect(imports.length).toBeGreaterThan(5)
    for (const specifier of imports) expect(specifier).toMatch(/^(node:|\.\/chunk-|\.\/scopes-)/)
  })

  it('prints its help and its version', async () => {
    const help = await cli(['--help'])
    expect(help).toMatchObject({ code: 0, stderr: '' })
    expect(help.stdout).toContain('Usage: keystash <command> [options]')
    const pkg = JSON.parse(await readFile(join(ROOT, 'cli/package.json'), 'utf8'))
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `keystash ${pkg.version}\n` })
  })

  it('talks to a live server: reveals a stored value, lists scopes for tokens', async () => {
    const { session } = await server.signup()
    const value = 'sk-proj-installed-cli-value-0123456789'
    await server.client(session).keys.create({ name: 'openai', value, provider: 'openai' })
    const env = { KEYSTASH_URL: server.url, KEYSTASH_TOKEN: session }
    expect(await cli(['keys', 'reveal', 'openai'], env)).toMatchObject({ code: 0, stdout: value })
    const missing = await cli(['keys', 'reveal', 'absent'], env)
    expect(missing.code).toBe(5)
    // The scope list lives in a chunk of its own, loaded on demand.
    const tokensHelp = await cli(['tokens', 'create', '--help'], env)
    expect(tokensHelp.code).toBe(0)
    expect(tokensHelp.stdout).toContain('keys:read')
  })

  it('says that `keystash dev` needs the repository, and fails', async () => {
    const dev = await cli(['dev'])
    expect(dev.code).toBe(1)
    expect(dev.stderr).toContain('keystash dev needs the Keystash server')
  })
})
