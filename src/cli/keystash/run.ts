import type { Keystash } from '../../../sdk/src/index.ts'
import { runChild } from './child.ts'
import type { Command, Input } from './command.ts'
import { type Context, note } from './context.ts'
import { EXIT_CODES_HELP, exitCodeFor, formatError, UsageError } from './errors.ts'
import { connect } from './session.ts'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const CONCURRENCY = 8

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a command with key values in its environment.',
  usage: '[--map NAME=REF]... [--all] [--key-prefix P] [--env-prefix P] -- <command> [args...]',
  options: {
    map: {
      type: 'string',
      value: 'NAME=REF',
      multiple: true,
      description: 'expose key REF as variable NAME (only these, unless --all)',
    },
    all: { type: 'boolean', description: 'with --map: also expose every listable key' },
    'key-prefix': {
      type: 'string',
      value: 'P',
      description: 'only keys named P..., with P removed from the variable name',
    },
    'env-prefix': {
      type: 'string',
      value: 'P',
      description: 'prepend P to the variable names of listed keys',
    },
  },
  passthrough: true,
  details: `By default every key the token can list (keys:list) is exposed under its own name,
when that name is a valid variable name ([A-Za-z_][A-Za-z0-9_]*): OPENAI_API_KEY -> $OPENAI_API_KEY.
Other names are skipped (listed on stderr); expose them with --map. --map alone needs only
keys:read. Key values win over variables already set.

All values are fetched before the command starts: if one fails, the command does not run and
keystash exits with the error's code. Values live only in the command's environment: nothing
is written to disk or printed. Mock or live follows the token's environment.

The command gets our stdin, stdout and stderr. SIGTERM and SIGHUP are forwarded to it, and so
are SIGINT and SIGQUIT unless standard input is a terminal (the terminal already sent Ctrl-C
to the command itself). keystash exits with the command's exit code, 128 + N if signal N
ended it, 127 if the command was not found, 126 if it could not be started.

Examples:
  keystash run -- node server.js
  keystash run --map OPENAI_API_KEY=openai-prod -- python app.py
  KEYSTASH_TOKEN=... keystash run --key-prefix myapp. -- ./deploy.sh

${EXIT_CODES_HELP}`,
  async run(ctx, input) {
    const [command, ...args] = input.rest
    if (!command) throw new UsageError('give the command to run after --', 'run')
    const maps = parseMaps(input.strings('map'))
    const { client } = await connect(ctx)
    const plan = maps.size === 0 || input.flag('all') ? await listed(ctx, client, input) : new Map()
    for (const [name, ref] of maps) plan.set(name, ref)

    const values: Record<string, string> = {}
    const failure = await fetchAll(client, plan, values)
    if (failure) {
      note(ctx, formatError(failure.error, `key ${failure.ref}`))
      return exitCodeFor(failure.error)
    }
    return runChild(command, args, {
      env: { ...ctx.env, ...values },
      skipTerminalSignals: ctx.stdin.isTTY === true,
    })
  },
}

function parseMaps(entries: readonly string[]): Map<string, string> {
  const maps = new Map<string, string>()
  for (const entry of entries) {
    const at = entry.indexOf('=')
    const name = entry.slice(0, Math.max(at, 0))
    const ref = entry.slice(at + 1)
    // Only a name is echoed: what follows = is not ours to print.
    if (at < 1 || !ref) throw new UsageError('--map takes NAME=REF', 'run')
    if (!ENV_NAME.test(name)) {
      throw new UsageError(`--map: ${name} is not a valid variable name`, 'run')
    }
    maps.set(name, ref)
  }
  return maps
}

/** Variable name -> key name, for every listable key that makes a valid variable name. */
async function listed(ctx: Context, client: Keystash, input: Input): Promise<Map<string, string>> {
  const keyPrefix = input.string('key-prefix') ?? ''
  const envPrefix = input.string('env-prefix') ?? ''
  const plan = new Map<string, string>()
  const skipped: string[] = []
  for await (const key of client.keys.list({ limit: 100 })) {
    if (!key.name.startsWith(keyPrefix)) continue
    const name = envPrefix + key.name.slice(keyPrefix.length)
    if (ENV_NAME.test(name)) plan.set(name, key.name)
    else skipped.push(key.name)
  }
  if (skipped.length > 0) {
    note(
      ctx,
      `keystash: not exposed (not variable names, use --map NAME=REF): ${skipped.join(', ')}`,
    )
  }
  return plan
}

/** Fills `values`; the first failure stops the rest from being started. */
async function fetchAll(
  client: Keystash,
  plan: Map<string, string>,
  values: Record<string, string>,
) {
  const queue = [...plan]
  let failure: { ref: string; error: unknown } | undefined
  const worker = async () => {
    for (let next = queue.shift(); next && !failure; next = queue.shift()) {
      const [name, ref] = next
      try {
        values[name] = (await client.keys.getValue(ref)).value
      } catch (error) {
        failure ??= { ref, error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker))
  return failure
}
