import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Keystash } from '../../sdk/src/index.ts'
import { type SdkServer, startSdkServer } from '../sdk/support/server.ts'

/**
 * The SDK as a user gets it: `npm pack` in sdk/ (which builds it), the tarball installed into
 * an empty project, and that project's programs run by Node (ESM and CommonJS), Deno and Bun
 * against a live server, compiled by tsc under both module resolutions a user may pick, and
 * bundled for browsers by esbuild. The SDK's sources are imported only to compute the values
 * the packed copy must agree with.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CONSUMERS = fileURLToPath(new URL('./consumers/', import.meta.url))
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)
const exec = promisify(execFile)

// Each test runs whole programs (npm, tsc, attw, Deno, Bun) on a shared machine: more time than
// the suite's default, which is sized for in-process tests.
const PROGRAM_TIMEOUT = 120_000

let dir: string
let app: string
let tarball: string
let server: SdkServer

/** Runs a program to completion in the consumer project; a failure shows what it printed. */
async function run(file: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout } = await exec(file, args, {
      cwd: app,
      env: { ...process.env, ...env },
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${file} ${args.join(' ')} failed:\n${stdout}\n${stderr}`)
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystash-sdk-pack-'))
  app = join(dir, 'app')
  await mkdir(app)
  // `npm pack` runs the package's prepack script: the tarball holds a fresh build.
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: join(ROOT, 'sdk'),
    maxBuffer: 16 * 1024 * 1024,
  })
  tarball = join(dir, JSON.parse(stdout.slice(stdout.indexOf('[')))[0].filename)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  for (const name of ['session.mjs', 'esm.mjs', 'cjs.cjs', 'typed.mts', 'typed.cts', 'browser.mjs'])
    await copyFile(join(CONSUMERS, name), join(app, name))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball])
  server = await startSdkServer()
}, 180_000)

afterAll(async () => {
  await server?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The fake the packed SDK's offline mock must make: the source tree's, for the same ref. */
const offlineValue = async (ref: string) =>
  (await new Keystash({ mock: true }).keys.getValue(ref)).value

describe('the packed package', { timeout: PROGRAM_TIMEOUT }, () => {
  it('passes publint and attw with nothing to report', async () => {
    const publint = await run(process.execPath, [bin('publint'), 'run', tarball, '--strict'])
    expect(publint).toContain('All good!')
    const attw = await run(process.execPath, [bin('attw'), tarball, '--format', 'json'])
    const report = JSON.parse(attw)
    expect(report.analysis.problems).toEqual([])
  })

  it('holds the built JavaScript, declarations and README, and no sources or scripts', async () => {
    const list = await run('tar', ['-tzf', tarball])
    const files = list.trim().split('\n').sort()
    expect(files).toEqual(
      expect.arrayContaining([
        'package/README.md',
        'package/dist/cjs/index.d.ts',
        'package/dist/cjs/index.js',
        'package/dist/cjs/package.json',
        'package/dist/esm/index.d.ts',
        'package/dist/esm/index.js',
        'package/dist/esm/mock/fake-values.js',
      ]),
    )
    expect(files.filter((f) => !/^package\/(dist\/|README\.md$|package\.json$)/.test(f))).toEqual(
      [],
    )
    const manifest = JSON.parse(
      await readFile(join(app, 'node_modules/@keystash/sdk/package.json'), 'utf8'),
    )
    expect(manifest.private).toBeUndefined()
    expect(manifest.sideEffects).toBe(false)
  })
})

describe('programs using the packed SDK against a live server', {
  timeout: PROGRAM_TIMEOUT,
}, () => {
  const expectSession = async (stdout: string, runtime: string, entry: string) => {
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '')
    expect(result).toEqual({
      runtime,
      entry: expect.stringContaining(entry),
      live: { matches: true, mode: 'live' },
      missing: 'NotFoundError 404',
      offline: { value: await offlineValue('openai'), source: 'offline' },
    })
  }

  it('Node, ESM (.mjs): the import condition', async () => {
    const stdout = await run(process.execPath, ['esm.mjs'], { KEYSTASH_URL: server.url })
    await expectSession(stdout, 'node-esm', 'node_modules/@keystash/sdk/dist/esm/index.js')
  })

  it('Node, CommonJS (.cjs): the require condition', async () => {
    const stdout = await run(process.execPath, ['cjs.cjs'], { KEYSTASH_URL: server.url })
    await expectSession(stdout, 'node-cjs', 'node_modules/@keystash/sdk/dist/cjs/index.js')
  })

  it('Deno', async () => {
    const stdout = await run(
      bin('deno'),
      ['run', '--no-prompt', `--allow-net=${new URL(server.url).host}`, '--allow-env', 'esm.mjs'],
      { KEYSTASH_URL: server.url, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    )
    await expectSession(stdout, 'deno', 'dist/esm/index.js')
  })

  it('Bun', async () => {
    const stdout = await run(bin('bun'), ['esm.mjs'], { KEYSTASH_URL: server.url })
    await expectSession(stdout, 'bun', 'dist/esm/index.js')
  })
})

describe("the SDK README's quick start", { timeout: PROGRAM_TIMEOUT }, () => {
  it('runs as written in an empty project with the package installed', async () => {
    const readme = await readFile(join(ROOT, 'sdk/README.md'), 'utf8')
    const start = readme.slice(readme.indexOf('## Quick start'))
    const code = /```ts\n([\s\S]*?)```/.exec(start)?.[1]
    expect(code).toContain("from '@keystash/sdk'")
    await writeFile(join(app, 'quickstart.mjs'), code ?? '')
    const { session } = await server.signup()
    const owner = server.client(session)
    await owner.keys.create({ name: 'openai', value: 'sk-proj-quickstart-0123456789abcdef' })
    const { token } = await owner.tokens.create({
      name: 'quickstart',
      scopes: ['keys:read'],
      environment: 'production',
      expiresIn: 600,
    })
    const stdout = await run(process.execPath, ['quickstart.mjs'], {
      KEYSTASH_URL: server.url,
      KEYSTASH_TOKEN: token,
    })
    expect(stdout).toBe('live\n')
  })
})

describe('TypeScript against the packed declarations', { timeout: PROGRAM_TIMEOUT }, () => {
  it.each(['nodenext', 'bundler'] as const)(
    'moduleResolution %s: tsc --noEmit is clean (strict, skipLibCheck off)',
    async (resolution) => {
      const config = {
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
          module: resolution === 'nodenext' ? 'nodenext' : 'esnext',
          moduleResolution: resolution,
        },
        // Under bundler resolution there is no CommonJS file to check: only the ESM one.
        files: resolution === 'nodenext' ? ['typed.mts', 'typed.cts'] : ['typed.mts'],
      }
      const file = `tsconfig.${resolution}.json`
      await writeFile(join(app, file), JSON.stringify(config))
      const result = await run(process.execPath, [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        file,
      ])
      expect(result).toBe('')
    },
  )
})

describe('a browser bundle made by esbuild', { timeout: PROGRAM_TIMEOUT }, () => {
  it('pulls in no Node module and runs offline mock mode with no permissions at all', async () => {
    const outfile = join(app, 'bundle.js')
    const result = await build({
      absWorkingDir: app,
      entryPoints: ['browser.mjs'],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile,
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.some((input) => input.includes('node_modules/@keystash/sdk/dist/esm/'))).toBe(
      true,
    )
    expect(
      inputs.filter(
        (input) => !input.startsWith('node_modules/@keystash/sdk/') && input !== 'browser.mjs',
      ),
    ).toEqual([])
    const bundle = await readFile(outfile, 'utf8')
    // No Node module is imported or required. The token-file credential source names
    // `node:fs/promises` in a dynamic import that runs only when it is used (never in a
    // browser): a bundler cannot resolve it, so it pulls nothing in (the inputs above).
    expect(bundle).not.toMatch(/\bfrom\s*["']node:|\bimport\s*\(\s*["']node:|\brequire\(/)
    expect(bundle.match(/["']node:[^"']*["']/g) ?? []).toEqual(['"node:fs/promises"'])
    // Deno with no permission stands in for an edge runtime: no env, no network, no files.
    const stdout = await run(bin('deno'), ['run', '--no-prompt', 'bundle.js'], {
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
    })
    expect(JSON.parse(stdout)).toEqual({
      provider: 'stripe-secret',
      value: await offlineValue('stripe'),
    })
    console.log(`browser bundle (minified): ${Buffer.byteLength(bundle)} bytes`)
  })
})
