import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

describe('the server’s Node flags', () => {
  it('are the same wherever the server is started', () => {
    const flags = SERVER_NODE_FLAGS.join(' ')
    expect(flags).not.toBe('')
    const start = JSON.parse(read('package.json')).scripts.start as string
    // The production start paths run the compiled server: no transpiler at run time.
    expect(start).toBe(`node ${flags} dist/src/main.js`)
    const cmd = JSON.stringify(['node', ...SERVER_NODE_FLAGS, 'dist/src/main.js'])
    expect(read('Dockerfile').replaceAll('", "', '","')).toContain(`CMD ${cmd}`)
    expect(read('docker-compose.yml')).toContain(`exec node ${flags} dist/src/main.js`)
    for (const file of ['Dockerfile', 'docker-compose.yml']) expect(read(file)).not.toMatch(/tsx/)
  })
})
