// Builds the package: ESM and CommonJS JavaScript, each with its declarations, from one source.
// Plain JavaScript so that it needs nothing but Node and TypeScript's `tsc` (found on PATH, as
// npm puts node_modules/.bin there for scripts).
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const sdk = fileURLToPath(new URL('..', import.meta.url))
rmSync(`${sdk}dist`, { recursive: true, force: true })
for (const config of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
  const tsc = spawnSync('tsc', ['-p', config], { cwd: sdk, stdio: 'inherit', shell: false })
  if (tsc.status !== 0) process.exit(tsc.status ?? 1)
}
writeFileSync(`${sdk}dist/cjs/package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`)
