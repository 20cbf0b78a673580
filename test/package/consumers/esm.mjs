// Node ESM, Deno and Bun: the package's `import` condition.
import * as sdk from '@keystash/sdk'
import { session } from './session.mjs'

const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node-esm'
const entry = String(import.meta.resolve('@keystash/sdk'))
console.log(JSON.stringify({ entry, ...(await session(sdk, runtime)) }))
