/**
 * src/mock -> sdk/src/mock: the SDK's offline mock makes its fakes with the server's own code,
 * so the two cannot drift. The package ships a copy (a package must not reach into another's
 * sources, and a tarball holds only its own folder); the server's files stay the source.
 *
 * Run with `npm run sdk:mock`; test/sdk/mock-copy.test.ts fails when a copy is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** WebCrypto and plain TypeScript only (each file says so): safe in every runtime the SDK runs in. */
export const MOCK_FILES = ['fake-values.ts', 'hmac-stream.ts', 'value-shape.ts'] as const

export const serverPath = (name: string) => `src/mock/${name}`
export const sdkPath = (name: string) => `sdk/src/mock/${name}`

/** The SDK's copy of one server file: a line that says where it comes from, then the file. */
export function renderCopy(name: string): string {
  const source = readFileSync(`${root}${serverPath(name)}`, 'utf8')
  return `// Copied by \`npm run sdk:mock\` from ${serverPath(name)}. Do not edit: change that file.\n${source}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of MOCK_FILES) {
    writeFileSync(`${root}${sdkPath(name)}`, renderCopy(name))
    process.stdout.write(`wrote ${sdkPath(name)}\n`)
  }
}
