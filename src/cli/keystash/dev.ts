import { SERVER_NODE_FLAGS } from '../../node-flags.ts'
import { runChild } from './child.ts'
import type { Command } from './command.ts'

export const devCommand: Command = {
  name: 'dev',
  summary: 'Start a development server, as `npm start` does (DynamoDB Local and a local KMS).',
  usage: '',
  details: `Runs src/main.ts from the Keystash package as \`npm start\` does (same Node flags), with
this terminal and environment (PORT, KEYSTASH_DATA_DIR, ...: see the README). Data is kept
under .keystash/ in the package. Ctrl-C stops it. Exits with the server's exit code.`,
  async run(ctx) {
    return runChild(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], {
      env: { ...ctx.env },
      cwd: ctx.packageRoot,
      skipTerminalSignals: ctx.stdin.isTTY === true,
    })
  },
}
