import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../../src/node-flags.ts'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

describe('the server’s Node flags', () => {
  it('are the same wherever the server is started', () => {
    const flags = SERVER_NODE_FLAGS.join(' ')
    expect(flags).not.toBe('')
    const start = JSON.parse(read('package.json')).scripts.start as string
    expect(start).toBe(`node ${flags} --import tsx src/main.ts`)
    const cmd = JSON.stringify(['node', ...SERVER_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'])
    expect(read('Dockerfile').replaceAll('", "', '","')).toContain(`CMD ${cmd}`)
    expect(read('docker-compose.yml')).toContain(`exec node ${flags} --import tsx src/main.ts`)
  })
})
