import { describe, expect, it } from 'vitest'
import {
  ConnectionError,
  KeyUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '../../sdk/src/index.ts'
import { type Command, parseInput } from '../../src/cli/keystash/command.ts'
import { configDirOf } from '../../src/cli/keystash/context.ts'
import { parseDuration } from '../../src/cli/keystash/duration.ts'
import { CliError, exitCodeFor, formatError, UsageError } from '../../src/cli/keystash/errors.ts'
import { details, table } from '../../src/cli/keystash/table.ts'

describe('parseDuration', () => {
  it('reads seconds and unit suffixes', () => {
    expect(parseDuration('3600')).toBe(3600)
    expect(parseDuration('90s')).toBe(90)
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('1h')).toBe(3600)
    expect(parseDuration('7d')).toBe(604_800)
    expect(parseDuration('2w')).toBe(1_209_600)
    expect(parseDuration('1h30m')).toBe(5400)
    expect(parseDuration(' 1H ')).toBe(3600)
  })

  it('refuses anything else, zero included', () => {
    for (const text of ['', '0', '0h', 'soon', '1.5h', '-1', 'h', '1y', '1h 30m']) {
      expect(parseDuration(text)).toBeUndefined()
    }
  })
})

describe('table', () => {
  it('pads columns, upper-cases headers, shows empty cells as -', () => {
    const text = table(
      ['name', 'tags', 'version'],
      [
        ['openai', ['a', 'b'], 1],
        ['x', [], null],
      ],
    )
    expect(text).toBe('NAME    TAGS  VERSION\nopenai  a,b   1\nx       -     -')
  })

  it('neutralises control characters, so a name cannot drive the terminal', () => {
    expect(table(['a'], [['x\u001b[2Jy\n']])).toBe('A\nx?[2Jy?')
    expect(details([['label', 'v\r']])).toBe('label  v?')
  })
})

describe('parseInput', () => {
  const run: Command = {
    name: 'run',
    summary: '',
    usage: '',
    options: { map: { type: 'string', multiple: true, description: '' } },
    passthrough: true,
    run: async () => 0,
  }

  it('splits our options from the command at -- or at the first word', () => {
    expect(parseInput(run, ['--map', 'A=b', '--', 'node', '--map', 'x'])?.rest).toEqual([
      'node',
      '--map',
      'x',
    ])
    const input = parseInput(run, ['--map', 'A=b', 'node', '-e', '1'])
    expect(input?.strings('map')).toEqual(['A=b'])
    expect(input?.rest).toEqual(['node', '-e', '1'])
    expect(parseInput(run, ['--map=A=b', 'ls'])?.rest).toEqual(['ls'])
  })

  it('returns undefined for --help and throws a UsageError for bad arguments', () => {
    const get: Command = {
      name: 'keys get',
      summary: '',
      usage: '<ref>',
      args: { min: 1, max: 1 },
      run: async () => 0,
    }
    expect(parseInput(get, ['--help'])).toBeUndefined()
    expect(() => parseInput(get, [])).toThrow(UsageError)
    expect(() => parseInput(get, ['--nope', 'x'])).toThrow(/Unknown option '--nope'/)
    // Extra words are not echoed: they might be secrets.
    expect(() => parseInput(get, ['a', 'sk-secret'])).toThrow(/^too many arguments/)
    try {
      parseInput(get, ['a', 'sk-secret'])
    } catch (error) {
      expect((error as Error).message).not.toContain('sk-secret')
    }
  })
})

describe('errors', () => {
  const problem = (code: string) => ({
    status: 404,
    code,
    requestId: 'req_1',
    problem: {
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: 'No key named x.',
      code,
      requestId: 'req_1',
    },
  })

  it('maps errors to the documented exit codes', () => {
    expect(exitCodeFor(new NotFoundError('x', problem('not_found')))).toBe(5)
    expect(exitCodeFor(new PermissionDeniedError('x'))).toBe(4)
    expect(exitCodeFor(new KeyUnavailableError('x', { code: 'kek_disabled' }))).toBe(7)
    expect(exitCodeFor(new ConnectionError('x'))).toBe(8)
    expect(exitCodeFor(new ValidationError('x'))).toBe(2)
    expect(exitCodeFor(new CliError('x', 3))).toBe(3)
    expect(exitCodeFor(new Error('x'))).toBe(1)
  })

  it('formats one line with the detail, code and request id', () => {
    expect(
      formatError(new NotFoundError('404 not_found: No key named x.', problem('not_found'))),
    ).toBe('error: No key named x. (code not_found, request req_1)')
    expect(formatError(new UsageError('bad\nthing', 'keys get'))).toBe(
      'error: bad thing (see keystash keys get --help)',
    )
  })
})

describe('configDirOf', () => {
  it('uses an absolute XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configDirOf({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' })).toBe('/x/cfg/keystash')
    expect(configDirOf({ XDG_CONFIG_HOME: 'relative', HOME: '/home/a' })).toBe(
      '/home/a/.config/keystash',
    )
    expect(configDirOf({ HOME: '/home/a' })).toBe('/home/a/.config/keystash')
  })
})
