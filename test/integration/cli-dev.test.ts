import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnServer } from '../support/spawned-server.ts'
import { BIN } from './cli-helpers.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keystash-dev-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('keystash dev', () => {
  it('starts the development server from any directory and stops on SIGTERM', {
    timeout: 90_000,
  }, async () => {
    const server = await spawnServer([BIN, 'dev'], {
      cwd: dir,
      env: { HOME: dir, PORT: '0', KEYSTASH_DATA_DIR: join(dir, 'data') },
    })
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)

    server.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })
})
