import type { Environment, Scope, Token } from '../../../sdk/src/index.ts'
import type { Command } from './command.ts'
import { note, print, printJson } from './context.ts'
import { parseDuration } from './duration.ts'
import { UsageError } from './errors.ts'
import { LIFETIME_OPTIONS, lifetimeQuery } from './lifetime-options.ts'
import { connect } from './session.ts'
import { table, when } from './table.ts'

const ENVIRONMENTS = ['development', 'staging', 'production'] as const

const create: Command = {
  name: 'tokens create',
  summary: 'Create an access token for an application, CI job or `keystash run`.',
  usage:
    '--name N --scope S [--scope S]... --expires-in 1h|7d|3600 [--key REF]... [--cidr RANGE]... [--environment E]',
  options: {
    name: { type: 'string', value: 'N', description: 'what the token is for' },
    scope: {
      type: 'string',
      value: 'S',
      multiple: true,
      description:
        'keys:read (values), keys:list, keys:write, tokens:write, audit:read, org:read, org:write, mock:write, encryption:write',
    },
    'expires-in': {
      type: 'string',
      value: 'DURATION',
      description: 'lifetime: seconds, or 30m, 12h, 7d, 2w',
    },
    key: {
      type: 'string',
      value: 'REF',
      multiple: true,
      description: 'restrict to this key (id, name, or prefix*); default: every key',
    },
    cidr: {
      type: 'string',
      value: 'RANGE',
      multiple: true,
      description: 'only usable from this IPv4/IPv6 range (CIDR); default: the creator’s ranges',
    },
    environment: {
      type: 'string',
      value: 'E',
      description: 'development, staging or production (default); decides mock or live values',
    },
  },
  json: true,
  details: `The token is printed once, alone on standard output (details and a reminder go to
stderr), so \`TOKEN=$(keystash tokens create ...)\` captures just the token. It cannot be shown
again. A token gets at most the scopes, keys and lifetime of the one creating it.`,
  async run(ctx, input) {
    const name = input.string('name')
    const scopes = input.strings('scope')
    const expiresText = input.string('expires-in')
    const environment = input.string('environment')
    if (!name) throw new UsageError('give --name', this.name)
    if (scopes.length === 0) throw new UsageError('give at least one --scope', this.name)
    // Loaded here only: it brings zod, which every other command can start without.
    const { SCOPES } = await import('../../auth/scopes.ts')
    const unknown = scopes.find((s) => !(SCOPES as readonly string[]).includes(s))
    if (unknown)
      throw new UsageError(`unknown scope ${unknown}: one of ${SCOPES.join(', ')}`, this.name)
    if (!expiresText) throw new UsageError('give --expires-in (e.g. 1h, 7d)', this.name)
    const expiresIn = parseDuration(expiresText)
    if (!expiresIn)
      throw new UsageError('--expires-in takes seconds or 30m, 12h, 7d, 2w', this.name)
    if (environment && !(ENVIRONMENTS as readonly string[]).includes(environment)) {
      throw new UsageError(`--environment: one of ${ENVIRONMENTS.join(', ')}`, this.name)
    }
    const keys = input.strings('key')
    const cidrs = input.strings('cidr')
    const { client } = await connect(ctx)
    const created = await client.tokens.create({
      name,
      scopes: scopes as Scope[],
      expiresIn,
      ...(keys.length ? { keys } : {}),
      ...(cidrs.length ? { cidrs } : {}),
      ...(environment ? { environment: environment as Environment } : {}),
    })
    if (input.json) {
      printJson(ctx, created)
      return 0
    }
    ctx.stdout.write(`${created.token}\n`)
    note(
      ctx,
      `Created ${created.id} (${created.scopes.join(', ')}; ${created.environment ?? 'production'}; keys: ${created.keys?.join(', ') ?? 'all'}; expires ${when(created.expiresAt)}).`,
    )
    note(ctx, 'This is the only time the token is shown: store it now.')
    return 0
  },
}

const status = (t: Token) => {
  if (t.revokedAt) return 'revoked'
  return Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active'
}

const list: Command = {
  name: 'tokens list',
  summary: 'List the organization’s tokens (never their strings).',
  usage: '[--expiring 7d] [--unused 30d] [--never-used]',
  options: LIFETIME_OPTIONS,
  json: true,
  async run(ctx, input) {
    const query = lifetimeQuery(input, this.name)
    const { client } = await connect(ctx)
    const tokens = await client.tokens.list({ limit: 100, ...query }).toArray()
    if (input.json) printJson(ctx, tokens)
    else if (tokens.length === 0) note(ctx, 'No tokens.')
    else {
      const rows = tokens.map((t) => [
        t.id,
        t.name,
        t.kind,
        status(t),
        t.scopes,
        t.environment,
        t.keys ?? 'all',
        when(t.expiresAt),
        when(t.lastUsedAt),
      ])
      const headers = [
        'id',
        'name',
        'kind',
        'status',
        'scopes',
        'env',
        'keys',
        'expires',
        'last used',
      ]
      print(ctx, table(headers, rows))
    }
    return 0
  },
}

const revoke: Command = {
  name: 'tokens revoke',
  summary: 'Revoke a token at once (revoking twice is not an error).',
  usage: '<id>',
  args: { min: 1, max: 1 },
  json: true,
  async run(ctx, input) {
    const id = input.positionals[0] as string
    const { client } = await connect(ctx)
    await client.tokens.revoke(id)
    if (input.json) printJson(ctx, { revoked: id })
    else note(ctx, `Revoked ${id}.`)
    return 0
  },
}

export const tokenCommands: Command[] = [create, list, revoke]
