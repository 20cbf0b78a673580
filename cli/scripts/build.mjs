// Builds the `keystash` command into dist/keystash.js (plus a chunk per lazy import) with esbuild: the
// CLI's sources from src/cli/keystash and the SDK's from sdk/src, bundled, so the package has
// no dependencies and starts without resolving or transpiling anything. Node's own modules stay
// imports. esbuild is the repository's devDependency (found by walking up from here).
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const cli = fileURLToPath(new URL('..', import.meta.url))
rmSync(`${cli}dist`, { recursive: true, force: true })
const result = await build({
  absWorkingDir: cli,
  entryPoints: { keystash: '../src/cli/keystash/main.ts' },
  outdir: 'dist',
  bundle: true,
  // Lazily imported modules (the scope list, which brings zod) get chunks of their own, so
  // `keystash --help` does not parse them.
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  sourcemap: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  metafile: true,
  logLevel: 'warning',
})
const external = Object.values(result.metafile.outputs)
  .flatMap((output) => output.imports)
  .filter((i) => i.external && !i.path.startsWith('node:'))
if (external.length > 0) {
  throw new Error(`the CLI bundle must need nothing but Node: ${JSON.stringify(external)}`)
}
