import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
    const child = spawn(process.execPath, [BIN, 'dev'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        PORT: '0',
        KEYSTASH_DATA_DIR: join(dir, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    let stdout = ''
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        const match = /API: +(http:\/\/\S+)/.exec(stdout)
        if (match?.[1]) resolve(match[1])
      })
      exited.then((code) => reject(new Error(`dev exited with ${code}`)))
    })
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
