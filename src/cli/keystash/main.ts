import { runCli } from './cli.ts'
import { contextOf } from './context.ts'

/**
 * `keystash`: started by bin/keystash.js. The exit code is set rather than forced with
 * process.exit, so whatever is still being written to a pipe gets out first.
 */
process.exitCode = await runCli(process.argv.slice(2), contextOf(process))
