import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnServer } from '../support/spawned-server.ts'

/**
 * A new user's first session, against the real `npm start` (development mode: it starts its own
 * DynamoDB Local and local KMS, with their data in KEYSTASH_DATA_DIR): store keys, read them
 * with a keys:read token by id and by name, add a version, read the old one, delete. Then the
 * plaintext must be absent from everything the server printed and from every file it left.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CANARY = 'sk-proj-CANARY-e2e-5b8d01f7-must-not-leak'
const CANARY_V2 = 'sk-proj-CANARY-e2e-v2-a94c3e60-must-not-leak'
const DELETED = 'sk_live_CANARY-e2e-deleted-0c7f2d19'

/** The canary in the encodings a careless store would use: UTF-8, hex and base64 at each alignment. */
function forms(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8')
  const base64 = [0, 1, 2].map((skip) => {
    const encoded = bytes.subarray(skip).toString('base64').replace(/=+$/, '')
    return Buffer.from(encoded.slice(0, encoded.length - 4)) // drop the tail that padding shifts
  })
  return [bytes, Buffer.from(bytes.toString('hex')), ...base64]
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystash-start-'))
  // What npm runs before `start` (prestart): the build that start's compiled server comes from.
  await promisify(execFile)('npm', ['run', 'prestart'], { cwd: ROOT })
}, 120_000)
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('npm start, as a new user tries it', () => {
  it('stores, reads, versions and deletes keys; the plaintext is in no output and no file', {
    timeout: 120_000,
  }, async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const [command, ...args] = (pkg.scripts.start as string).split(' ')
    expect(command).toBe('node')
    expect(pkg.scripts.prestart).toBe('npm run build')
    // Compiled JavaScript, no transpiler at run time.
    expect(args.at(-1)).toBe('dist/src/main.js')
    expect(args.join(' ')).not.toMatch(/tsx|--import|--loader/)
    const dataDir = join(dir, 'data')
    const server = await spawnServer(args, {
      cwd: ROOT,
      env: { HOME: dir, PORT: '0', KEYSTASH_DATA_DIR: dataDir, LOG_LEVEL: 'trace' },
    })
    const base = server.url

    try {
      const call = async (method: string, path: string, token?: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        const text = await res.text()
        return { status: res.status, body: text ? JSON.parse(text) : undefined, text }
      }

      const signup = await call('POST', '/v1/auth/signup', undefined, {
        email: 'new-user@example.com',
        password: 'correct horse battery staple',
      })
      expect(signup.status).toBe(201)
      const session = signup.body.session.token as string

      const created = await call('POST', '/v1/keys', session, {
        name: 'openai-e2e-control',
        value: CANARY,
        provider: 'openai',
      })
      expect(created.status).toBe(201)
      const doomed = await call('POST', '/v1/keys', session, { name: 'stripe', value: DELETED })
      expect(doomed.status).toBe(201)
      const minted = await call('POST', '/v1/tokens', session, {
        name: 'app',
        scopes: ['keys:read'],
        expiresIn: 3600,
      })
      expect(minted.status).toBe(201)
      const reader = minted.body.token as string

      for (const ref of [created.body.id, 'openai-e2e-control']) {
        const read = await call('GET', `/v1/keys/${ref}/value`, reader)
        expect(read.body).toMatchObject({ name: 'openai-e2e-control', version: 1, value: CANARY })
      }
      expect(
        (await call('PUT', '/v1/keys/openai-e2e-control/value', session, { value: CANARY_V2 }))
          .status,
      ).toBe(200)
      expect((await call('GET', '/v1/keys/openai-e2e-control/value', reader)).body).toMatchObject({
        version: 2,
        value: CANARY_V2,
      })
      expect(
        (await call('GET', '/v1/keys/openai-e2e-control/value?version=1', reader)).body,
      ).toMatchObject({ version: 1, value: CANARY })
      expect((await call('GET', '/v1/keys/stripe/value', reader)).body.value).toBe(DELETED)
      expect((await call('DELETE', '/v1/keys/stripe', session)).status).toBe(204)
      const gone = await call('GET', '/v1/keys/stripe/value', reader)
      expect([gone.status, gone.body.code]).toEqual([404, 'not_found'])
      // A refused write says nothing of the value it was given.
      const refused = await call('PUT', '/v1/keys/openai-e2e-control/value', reader, {
        value: CANARY,
      })
      expect(refused.status).toBe(403)
      expect(refused.text).not.toContain(CANARY)
    } finally {
      server.kill('SIGTERM')
    }
    expect(await server.exited).toBe(0)
    const output = server.output()

    // The server did log the session (at trace level), so its silence on the values means something.
    expect(output).toMatch(/"path":"\/v1\/keys\/openai-e2e-control\/value"/)
    const files = await filesUnder(dataDir)
    const contents = await Promise.all(files.map((file) => readFile(file)))
    // The walk reaches the stored data: the key's name (metadata, not secret) is in there.
    expect(contents.some((bytes) => bytes.includes('openai-e2e-control'))).toBe(true)
    for (const canary of [CANARY, CANARY_V2, DELETED]) {
      for (const form of forms(canary)) {
        expect(output.includes(form.toString()), `${canary} in the output`).toBe(false)
        for (const [i, bytes] of contents.entries())
          expect(bytes.includes(form), `${canary} in ${files[i]}`).toBe(false)
      }
    }
  })
})
