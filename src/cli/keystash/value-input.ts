import { readFile } from 'node:fs/promises'
import type { Input, Option } from './command.ts'
import type { Context } from './context.ts'
import { CliError, UsageError } from './errors.ts'
import { askSecret, readStdin, withoutFinalNewline } from './prompt.ts'

export const VALUE_OPTIONS: Record<string, Option> = {
  'value-stdin': { type: 'boolean', description: 'read the value from standard input' },
  'value-file': { type: 'string', value: 'FILE', description: 'read the value from a file' },
  'from-env': {
    type: 'string',
    value: 'VAR',
    description: 'take the value from an environment variable',
  },
}

export const VALUE_HELP = `The value never comes from an argument (\`ps\` and shell history would see it): give
--value-stdin, --value-file FILE or --from-env VAR. Without any, it is asked for on the
terminal (not echoed), or read from standard input when that is a pipe. One final newline
is removed from standard input and files (\`echo\` and editors add it).`

/** The value for `keys create` and `keys set`, from exactly one source. */
export async function readValue(ctx: Context, input: Input, command: string): Promise<string> {
  const file = input.string('value-file')
  const variable = input.string('from-env')
  const sources = [input.flag('value-stdin'), file !== undefined, variable !== undefined]
  if (sources.filter(Boolean).length > 1) {
    throw new UsageError('give only one of --value-stdin, --value-file and --from-env', command)
  }
  let value: string
  if (file !== undefined) {
    value = withoutFinalNewline(file === '-' ? await readStdin(ctx) : await readText(file))
  } else if (variable !== undefined) {
    const fromEnv = ctx.env[variable]
    if (fromEnv === undefined) throw new CliError(`the environment variable ${variable} is not set`)
    value = fromEnv
  } else if (!input.flag('value-stdin') && ctx.stdin.isTTY) {
    value = await askSecret(ctx, 'Value (not echoed): ')
  } else {
    value = withoutFinalNewline(await readStdin(ctx))
  }
  if (value === '') throw new CliError('the value is empty')
  return value
}

/** `keystash keys set openai sk-...` is refused before anything else happens. */
export function refuseValueArgument(positionals: readonly string[], max: number, command: string) {
  if (positionals.length > max) {
    throw new UsageError(
      'refusing a value given as an argument: it would be visible in `ps` and saved in shell history. Use --value-stdin, --value-file FILE or --from-env VAR, or give no value to be asked for it',
      command,
    )
  }
}

export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}
