/**
 * Reads an environment variable where there is one. `process` does not exist in browsers and
 * most edge runtimes, and Deno throws when env access was not granted: both mean "not set".
 */
export function readEnv(name: string): string | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
      ?.env
    const value = env?.[name]?.trim()
    return value === '' ? undefined : value
  } catch {
    return undefined
  }
}

export const isTruthy = (value: string | undefined) =>
  value !== undefined && /^(1|true|yes|on)$/i.test(value)
