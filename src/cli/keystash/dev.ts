import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { SERVER_NODE_FLAGS } from '../../node-flags.ts'
import { runChild } from './child.ts'
import type { Command } from './command.ts'
import { CliError } from './errors.ts'

export const devCommand: Command = {
  name: 'dev',
  summary: 'Start a development server, as `npm start` does (DynamoDB Local and a local KMS).',
  usage: '',
  details: `Runs the server of the Keystash repository this command belongs to, in development
mode as \`npm start\` does (same Node flags; from its TypeScript sources, so edits take effect
on the next start), with this terminal and environment (PORT, KEYSTASH_DATA_DIR, ...: see the
README). Data is kept under .keystash/ in the repository. Ctrl-C stops it. Exits with the
server's exit code. The CLI package installed on its own holds no server: run \`npx keystash
dev\` (or \`npm start\`) in a clone of the repository instead.`,
  async run(ctx) {
    if (!existsSync(join(ctx.packageRoot, 'src/main.ts'))) {
      throw new CliError(
        'keystash dev needs the Keystash server, which this installation of the CLI does not include: run `npx keystash dev` or `npm start` in a clone of the Keystash repository.',
      )
    }
    return runChild(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], {
      env: { ...ctx.env },
      cwd: ctx.packageRoot,
      skipTerminalSignals: ctx.stdin.isTTY === true,
    })
  },
}
