import { ConflictError, type Keystash, type Provider } from '../../../sdk/src/index.ts'
import { providers } from '../../mock/fake-values.ts'
import type { Command } from './command.ts'
import { type Context, note, print, printJson } from './context.ts'
import { type DotenvEntry, DotenvError, parseDotenv } from './dotenv.ts'
import { CliError, exitCodeFor, formatError, UsageError } from './errors.ts'
import { readStdin } from './prompt.ts'
import { connect } from './session.ts'
import { table } from './table.ts'
import { readText } from './value-input.ts'

const KEY_NAME = /^[A-Za-z0-9_.-]{1,128}$/

type Action = 'created' | 'updated' | 'skipped' | 'failed'

interface Outcome {
  name: string
  line: number
  action: Action
  version: number | null
  /** Why it was skipped or failed (never the value). */
  reason: string | null
  exitCode?: number
}

export const importCommand: Command = {
  name: 'import',
  summary: 'Create one key per entry of a .env file, named after its variable.',
  usage: '<file.env | -> [--prefix P] [--provider auto|P] [--tag T]... [--update]',
  options: {
    prefix: {
      type: 'string',
      value: 'P',
      description: 'prepend P to every key name (myapp. -> myapp.OPENAI_API_KEY)',
    },
    provider: {
      type: 'string',
      value: 'P',
      description: 'auto (the default: detected from each value) or a provider for all',
    },
    tag: { type: 'string', value: 'T', multiple: true, description: 'tag every created key' },
    update: {
      type: 'boolean',
      description: 'add a version to keys that exist (default: skip them)',
    },
  },
  args: { min: 1, max: 1 },
  json: true,
  details: `The key name is the variable name (plus the prefix), unchanged, so \`keystash run\`
gives the variable back under the same name. Parsing: NAME=value lines, an optional
\`export \`, # comments, blank lines, "double" (with \\n escapes), 'single' and \`back\` quotes,
multi-line quoted values; no \${VAR} expansion. Empty values are skipped. \`-\` reads
standard input. Exits non-zero when any entry failed (with the first failure's code).`,
  async run(ctx, input) {
    const file = input.positionals[0] as string
    const prefix = input.string('prefix') ?? ''
    const providerOption = input.string('provider') ?? 'auto'
    if (providerOption !== 'auto' && !(providers as readonly string[]).includes(providerOption)) {
      throw new UsageError(`--provider: auto or one of ${providers.join(', ')}`, 'import')
    }
    const provider = providerOption === 'auto' ? undefined : (providerOption as Provider)
    const entries = parseFile(await readSource(ctx, file), file)
    const { client } = await connect(ctx)

    const outcomes: Outcome[] = []
    for (const entry of entries) {
      outcomes.push(
        await importOne(client, entry, {
          name: prefix + entry.name,
          provider,
          tags: input.strings('tag'),
          update: input.flag('update'),
        }),
      )
    }
    if (input.json)
      printJson(
        ctx,
        outcomes.map(({ exitCode: _, ...o }) => o),
      )
    else if (outcomes.length === 0) note(ctx, `No entries in ${file}.`)
    else {
      const rows = outcomes.map((o) => [o.name, o.action, o.version, o.reason])
      print(ctx, table(['key', 'action', 'version', 'note'], rows))
      const count = (action: Action) => outcomes.filter((o) => o.action === action).length
      note(
        ctx,
        `${count('created')} created, ${count('updated')} updated, ${count('skipped')} skipped, ${count('failed')} failed`,
      )
    }
    return outcomes.find((o) => o.action === 'failed')?.exitCode ?? 0
  },
}

async function readSource(ctx: Context, file: string): Promise<string> {
  return file === '-' ? readStdin(ctx) : readText(file)
}

function parseFile(text: string, file: string): DotenvEntry[] {
  try {
    return parseDotenv(text)
  } catch (error) {
    if (error instanceof DotenvError) throw new CliError(`${file}: ${error.message}`)
    throw error
  }
}

async function importOne(
  client: Keystash,
  entry: DotenvEntry,
  options: { name: string; provider: Provider | undefined; tags: string[]; update: boolean },
): Promise<Outcome> {
  const { name } = options
  const base = { name, line: entry.line, version: null, reason: null }
  if (!KEY_NAME.test(name)) {
    return { ...base, action: 'skipped', reason: 'not a valid key name (A-Z a-z 0-9 _ . -, 1-128)' }
  }
  if (entry.value === '') return { ...base, action: 'skipped', reason: 'empty value' }
  try {
    const key = await client.keys.create({
      name,
      value: entry.value,
      ...(options.provider ? { provider: options.provider } : {}),
      ...(options.tags.length ? { tags: options.tags } : {}),
    })
    return { ...base, action: 'created', version: key.currentVersion }
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === 'conflict')) return failed(base, error)
    if (!options.update)
      return { ...base, action: 'skipped', reason: 'exists (--update adds a version)' }
  }
  try {
    const key = await client.keys.putValue(name, entry.value)
    return { ...base, action: 'updated', version: key.currentVersion }
  } catch (error) {
    return failed(base, error)
  }
}

function failed(base: Omit<Outcome, 'action'>, error: unknown): Outcome {
  const reason = formatError(error).replace(/^error: /, '')
  return { ...base, action: 'failed', reason, exitCode: exitCodeFor(error) }
}
