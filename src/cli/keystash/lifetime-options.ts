import type { Input, Option } from './command.ts'
import { parseDuration } from './duration.ts'
import { UsageError } from './errors.ts'

/** `--expiring 30d`, `--unused 90d`, `--never-used`: the listing filters of keys and tokens. */
export const LIFETIME_OPTIONS: Record<string, Option> = {
  expiring: {
    type: 'string',
    value: 'DURATION',
    description: 'only those expiring within this time (30d, 2w)',
  },
  unused: {
    type: 'string',
    value: 'DURATION',
    description: 'only those not used for this long (90d)',
  },
  'never-used': { type: 'boolean', description: 'only those never used' },
}

/** The API's filters from the options: durations become whole days, rounded up. */
export function lifetimeQuery(input: Input, command: string) {
  const days = (option: string) => {
    const text = input.string(option)
    if (text === undefined) return undefined
    const seconds = parseDuration(text)
    if (!seconds) throw new UsageError(`--${option} takes a duration such as 30d or 2w`, command)
    return Math.ceil(seconds / 86_400)
  }
  const expiringWithinDays = days('expiring')
  const unusedForDays = days('unused')
  return {
    ...(expiringWithinDays !== undefined ? { expiringWithinDays } : {}),
    ...(unusedForDays !== undefined ? { unusedForDays } : {}),
    ...(input.flag('never-used') ? { neverUsed: 'true' as const } : {}),
  }
}

/** `--expires-at DATE` and `--rotate-every 90d` of `keys create`. */
export function lifetimePolicy(input: Input, command: string) {
  const expiresAt = input.string('expires-at')
  const every = input.string('rotate-every')
  if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt)))
    throw new UsageError('--expires-at takes an ISO 8601 date', command)
  const seconds = every === undefined ? undefined : parseDuration(every)
  if (every !== undefined && !seconds)
    throw new UsageError('--rotate-every takes a duration such as 90d', command)
  return {
    ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    ...(seconds ? { rotateEveryDays: Math.ceil(seconds / 86_400) } : {}),
  }
}
