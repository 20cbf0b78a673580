#!/usr/bin/env node
// The `keystash` command. It compiles the TypeScript sources on the fly with tsx, in this
// process (no second node process, so signals and exit codes need no relaying). Both tsx and
// the entry point are resolved from this file, so any working directory will do; the
// package's own tsconfig is used, not one the working directory happens to hold.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })
await import(new URL('../src/cli/keystash/main.ts', import.meta.url).href)
