import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { authCommands } from './auth.ts'
import { type Command, commandHelp, parseInput } from './command.ts'
import type { Context } from './context.ts'
import { devCommand } from './dev.ts'
import { EXIT_CODES_HELP, exitCodeFor, formatError, UsageError } from './errors.ts'
import { importCommand } from './import.ts'
import { keyCommands } from './keys.ts'
import { runCommand } from './run.ts'
import { tokenCommands } from './tokens.ts'

const COMMANDS: readonly Command[] = [
  ...authCommands,
  ...keyCommands,
  importCommand,
  runCommand,
  ...tokenCommands,
  devCommand,
]
const GROUPS: Record<string, string> = {
  keys: 'Store, list, version, reveal and delete keys.',
  tokens: 'Create, list and revoke access tokens.',
}
const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h' || arg === 'help'

/** Runs one invocation; resolves with the exit code. Errors end here, as one line on stderr. */
export async function runCli(argv: readonly string[], ctx: Context): Promise<number> {
  try {
    return await dispatch(argv, ctx)
  } catch (error) {
    ctx.stderr.write(`${formatError(error)}\n`)
    return exitCodeFor(error)
  }
}

async function dispatch(argv: readonly string[], ctx: Context): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || isHelp(first)) {
    if (first === 'help' && rest.length > 0) return dispatch([...rest, '--help'], ctx)
    const stream = first === undefined ? ctx.stderr : ctx.stdout
    stream.write(topHelp())
    return first === undefined ? 2 : 0
  }
  if (first === '--version' || first === '-V') {
    ctx.stdout.write(`${version(ctx)}\n`)
    return 0
  }
  let name = first
  let args = rest
  const group = GROUPS[first]
  if (group !== undefined) {
    const [sub, ...subArgs] = rest
    if (sub === undefined || isHelp(sub)) {
      const stream = sub === undefined ? ctx.stderr : ctx.stdout
      stream.write(groupHelp(first, group))
      return sub === undefined ? 2 : 0
    }
    name = `${first} ${sub}`
    args = subArgs
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    throw new UsageError(`unknown command: ${name}`, group !== undefined ? first : '')
  }
  const input = parseInput(command, args)
  if (!input) {
    const exitCodes = command.name === 'run' ? undefined : 'Exit codes: see `keystash --help`.'
    ctx.stdout.write(commandHelp(command, exitCodes))
    return 0
  }
  return (await command.run(ctx, input)) ?? 0
}

function listing(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')
}

function topHelp(): string {
  return `keystash: the command line for Keystash, a vault for third-party API keys.

Usage: keystash <command> [options]     keystash <command> --help

Commands:
${listing(COMMANDS)}

Every command takes --help; commands that print something take --json.

Environment:
  KEYSTASH_URL     the server (wins over the one stored by login)
  KEYSTASH_TOKEN   a token to use instead of the stored session (CI: an access token)
  XDG_CONFIG_HOME  the session is stored in $XDG_CONFIG_HOME/keystash/credentials.json
                   (default ~/.config/keystash/credentials.json)

${EXIT_CODES_HELP}
`
}

function groupHelp(group: string, summary: string): string {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `))
  return `Usage: keystash ${group} <command> [options]

${summary}

Commands:
${listing(commands)}

${EXIT_CODES_HELP}
`
}

function version(ctx: Context): string {
  const pkg = JSON.parse(readFileSync(join(ctx.packageRoot, 'package.json'), 'utf8'))
  return `keystash ${String(pkg.version)}`
}
