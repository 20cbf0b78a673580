import { parseArgs } from 'node:util'
import type { Context } from './context.ts'
import { UsageError } from './errors.ts'

export interface Option {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** The value's placeholder in help: `--url URL`. */
  value?: string
  description: string
}

export interface Command {
  /** The words after `keystash`: `keys list`. */
  name: string
  summary: string
  /** What follows the name in the usage line: `<ref> [--version N]`. */
  usage: string
  options?: Record<string, Option>
  /** How many positional arguments are accepted. Default: none. */
  args?: { min: number; max: number }
  /** Adds `--json`. */
  json?: boolean
  /** Everything after `--` (or after the first positional) is the command to run. */
  passthrough?: boolean
  /** Paragraphs shown after the options. */
  details?: string
  run(ctx: Context, input: Input): Promise<number | undefined>
}

export class Input {
  constructor(
    readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>,
    readonly positionals: readonly string[],
    /** For passthrough commands: the command line to run. */
    readonly rest: readonly string[] = [],
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name]
    return typeof value === 'string' ? value : undefined
  }

  strings(name: string): string[] {
    const value = this.values[name]
    return Array.isArray(value) ? value : []
  }

  flag(name: string): boolean {
    return this.values[name] === true
  }

  get json(): boolean {
    return this.flag('json')
  }
}

const HELP: Option = { type: 'boolean', short: 'h', description: 'show this help' }
const JSON_OPTION: Option = { type: 'boolean', description: 'print JSON (for scripts)' }

export function optionsOf(command: Command): Record<string, Option> {
  return { ...command.options, ...(command.json ? { json: JSON_OPTION } : {}), help: HELP }
}

/** Parses a command's arguments; `undefined` when `--help` was asked for. */
export function parseInput(command: Command, argv: readonly string[]): Input | undefined {
  const options = optionsOf(command)
  const [own, rest] = command.passthrough ? splitPassthrough(argv, options) : [argv, []]
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...own],
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...short(o) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify .*$/s, ''), command.name)
  }
  if (parsed.values.help) return undefined
  const { min, max } = command.args ?? { min: 0, max: 0 }
  const count = parsed.positionals.length
  if (count < min) throw new UsageError(`missing argument: ${command.usage}`, command.name)
  // The extra words are not echoed: on a secrets tool they may well be a secret.
  if (count > max) {
    throw new UsageError(`too many arguments (at most ${max}): ${command.usage}`, command.name)
  }
  return new Input(parsed.values as Input['values'], parsed.positionals, rest)
}

const short = (o: Option) => (o.short ? { short: o.short } : {})

/**
 * Our options end at `--`, or at the first word that is neither an option nor an option's
 * value: `keystash run node app.js --port 3000` runs `node app.js --port 3000`.
 */
function splitPassthrough(
  argv: readonly string[],
  options: Record<string, Option>,
): [string[], string[]] {
  const takesValue = new Set<string>()
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue
    takesValue.add(`--${name}`)
    if (o.short) takesValue.add(`-${o.short}`)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') return [argv.slice(0, i), argv.slice(i + 1)]
    if (takesValue.has(arg)) i++
    else if (!arg.startsWith('-') || arg === '-') return [argv.slice(0, i), argv.slice(i)]
  }
  return [[...argv], []]
}

export function commandHelp(command: Command, exitCodes?: string): string {
  const options = optionsOf(command)
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`
    return [flag, o.description + (o.multiple ? ' (repeatable)' : '')] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length))
  const lines = [
    `Usage: keystash ${command.name}${command.usage ? ` ${command.usage}` : ''}`,
    '',
    command.summary,
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
  ]
  if (command.details) lines.push('', command.details.trim())
  if (exitCodes) lines.push('', exitCodes)
  return `${lines.join('\n')}\n`
}
