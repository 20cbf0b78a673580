import type { Key, Provider } from '../../../sdk/src/index.ts'
import type { Command } from './command.ts'
import { type Context, note, print, printJson } from './context.ts'
import { EXIT, UsageError } from './errors.ts'
import { LIFETIME_OPTIONS, lifetimePolicy, lifetimeQuery } from './lifetime-options.ts'
import { confirm } from './prompt.ts'
import { connect } from './session.ts'
import { type Cell, details, table, when } from './table.ts'
import { readValue, refuseValueArgument, VALUE_HELP, VALUE_OPTIONS } from './value-input.ts'

export const KEY_COLUMNS = ['name', 'provider', 'version', 'tags', 'updated', 'last used']
export const keyRow = (k: Key): Cell[] => [
  k.name,
  k.provider,
  k.currentVersion,
  k.tags,
  when(k.updatedAt),
  when(k.lastUsedAt),
]

const describe = (k: Key) =>
  details([
    ['name', k.name],
    ['id', k.id],
    ['provider', k.provider],
    ['description', k.description],
    ['tags', k.tags],
    ['version', k.currentVersion],
    ['created', when(k.createdAt)],
    ['updated', when(k.updatedAt)],
    ['last used', when(k.lastUsedAt)],
    ['expires', when(k.expiresAt)],
    ['replace every', k.rotateEveryDays === null ? null : `${k.rotateEveryDays} days`],
    ['replacement due', when(k.rotationDueAt)],
    ['mock overrides', Object.entries(k.mockOverrides).map(([env, mode]) => `${env}=${mode}`)],
  ])

const showKey = (ctx: Context, json: boolean, key: Key) =>
  json ? printJson(ctx, key) : print(ctx, describe(key))

const list: Command = {
  name: 'keys list',
  summary: 'List keys (names and metadata, never values).',
  usage: '[--provider P] [--tag T] [--expiring 30d] [--rotation-due] [--unused 90d] [--never-used]',
  options: {
    provider: { type: 'string', value: 'P', description: 'only keys of this provider' },
    tag: { type: 'string', value: 'T', description: 'only keys with this tag' },
    ...LIFETIME_OPTIONS,
    'rotation-due': { type: 'boolean', description: 'only keys whose replacement is overdue' },
  },
  json: true,
  async run(ctx, input) {
    const { client } = await connect(ctx)
    const provider = input.string('provider') as Provider | undefined
    const tag = input.string('tag')
    const keys = await client.keys
      .list({
        limit: 100,
        ...(provider ? { provider } : {}),
        ...(tag ? { tag } : {}),
        ...lifetimeQuery(input, this.name),
        ...(input.flag('rotation-due') ? { rotationOverdue: 'true' as const } : {}),
      })
      .toArray()
    if (input.json) printJson(ctx, keys)
    else if (keys.length === 0) note(ctx, 'No keys.')
    else print(ctx, table(KEY_COLUMNS, keys.map(keyRow)))
    return 0
  },
}

const get: Command = {
  name: 'keys get',
  summary: 'Describe a key (never its value). A ref is a key name or id.',
  usage: '<ref>',
  args: { min: 1, max: 1 },
  json: true,
  async run(ctx, input) {
    const { client } = await connect(ctx)
    showKey(ctx, input.json, await client.keys.get(input.positionals[0] as string))
    return 0
  },
}

const create: Command = {
  name: 'keys create',
  summary: 'Store a new key (version 1).',
  usage: '<name> [--value-stdin | --value-file FILE | --from-env VAR] [--provider P] [--tag T]...',
  options: {
    ...VALUE_OPTIONS,
    provider: {
      type: 'string',
      value: 'P',
      description: 'openai, anthropic, stripe-secret, ... (default: detected from the value)',
    },
    tag: { type: 'string', value: 'T', multiple: true, description: 'a tag' },
    description: { type: 'string', value: 'TEXT', description: 'a description' },
    'expires-at': {
      type: 'string',
      value: 'DATE',
      description: 'when the provider key expires (ISO 8601, e.g. 2027-03-31T00:00:00Z)',
    },
    'rotate-every': {
      type: 'string',
      value: 'DURATION',
      description: 'replace the provider key this often (90d); a reminder follows',
    },
  },
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  json: true,
  details: `Names: 1-128 of A-Z a-z 0-9 _ . - (a name that is a valid environment variable name,
like OPENAI_API_KEY, is what \`keystash run\` exposes by default).

${VALUE_HELP}`,
  async run(ctx, input) {
    refuseValueArgument(input.positionals, 1, this.name)
    const value = await readValue(ctx, input, this.name)
    const { client } = await connect(ctx)
    const provider = input.string('provider') as Provider | undefined
    const description = input.string('description')
    const tags = input.strings('tag')
    const key = await client.keys.create({
      name: input.positionals[0] as string,
      value,
      ...(provider ? { provider } : {}),
      ...(description ? { description } : {}),
      ...(tags.length ? { tags } : {}),
      ...lifetimePolicy(input, this.name),
    })
    showKey(ctx, input.json, key)
    return 0
  },
}

const set: Command = {
  name: 'keys set',
  summary: 'Store a new version of a key’s value; it becomes the current one.',
  usage: '<ref> [--value-stdin | --value-file FILE | --from-env VAR]',
  options: VALUE_OPTIONS,
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  json: true,
  details: VALUE_HELP,
  async run(ctx, input) {
    refuseValueArgument(input.positionals, 1, this.name)
    const value = await readValue(ctx, input, this.name)
    const { client } = await connect(ctx)
    const key = await client.keys.putValue(input.positionals[0] as string, value)
    if (input.json) printJson(ctx, key)
    else note(ctx, `Stored version ${key.currentVersion} of ${key.name}.`)
    return 0
  },
}

const versions: Command = {
  name: 'keys versions',
  summary: 'List a key’s versions (never values), oldest first.',
  usage: '<ref>',
  args: { min: 1, max: 1 },
  json: true,
  async run(ctx, input) {
    const { client } = await connect(ctx)
    const { items } = await client.keys.versions(input.positionals[0] as string)
    if (input.json) printJson(ctx, items)
    else {
      const rows = items.map((v) => [
        v.version,
        when(v.createdAt),
        `${v.kek.provider} v${v.kek.version}`,
      ])
      print(ctx, table(['version', 'created', 'key-encryption key'], rows))
    }
    return 0
  },
}

const remove: Command = {
  name: 'keys delete',
  summary: 'Delete a key and the ciphertext of every version. There is no undo.',
  usage: '<ref> [--yes]',
  options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' } },
  args: { min: 1, max: 1 },
  json: true,
  async run(ctx, input) {
    const ref = input.positionals[0] as string
    const { client } = await connect(ctx)
    if (!input.flag('yes')) {
      if (!ctx.stdin.isTTY) throw new UsageError('not a terminal: confirm with --yes', this.name)
      const key = await client.keys.get(ref)
      const question = `Delete ${key.name} and its ${key.currentVersion} version(s)?`
      if (!(await confirm(ctx, question))) {
        note(ctx, 'Not deleted.')
        return EXIT.error
      }
    }
    await client.keys.delete(ref)
    if (input.json) printJson(ctx, { deleted: ref })
    else note(ctx, `Deleted ${ref}.`)
    return 0
  },
}

const reveal: Command = {
  name: 'keys reveal',
  summary: 'Print a key’s value to standard output, and nothing else (so it pipes).',
  usage: '<ref> [--version N]',
  options: {
    version: {
      type: 'string',
      value: 'N',
      description: 'a past version (default: the current one)',
    },
  },
  args: { min: 1, max: 1 },
  json: true,
  details: `No newline is added when the output is not a terminal: \`keystash keys reveal openai | pbcopy\`
copies exactly the value. Mock or live follows the token's environment, as for any read;
--json shows which applied and why.`,
  async run(ctx, input) {
    const versionText = input.string('version')
    const version = versionText === undefined ? undefined : Number(versionText)
    if (version !== undefined && !(Number.isInteger(version) && version >= 1)) {
      throw new UsageError('--version takes a version number (1, 2, ...)', this.name)
    }
    const { client } = await connect(ctx)
    const result = await client.keys.getValue(input.positionals[0] as string, {
      ...(version ? { version } : {}),
    })
    if (input.json) printJson(ctx, result)
    else if (ctx.stdout.isTTY) {
      note(ctx, 'warning: printing a secret to the terminal (it stays in the scrollback)')
      ctx.stdout.write(`${result.value}\n`)
    } else ctx.stdout.write(result.value)
    return 0
  },
}

export const keyCommands: Command[] = [list, get, create, set, versions, remove, reveal]
