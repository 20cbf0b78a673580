import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What a command may touch of the outside world; main.ts builds it from `process`. */
export interface Context {
  /** The environment, read once by main.ts (nothing else reads process.env). */
  env: Readonly<Record<string, string | undefined>>
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  /** `$XDG_CONFIG_HOME/keystash`, else `~/.config/keystash`. */
  configDir: string
  /**
   * The package this command came with: the repository (src/cli/keystash, or its build under
   * dist/), or the CLI's own package (cli/, where the whole command is one bundled file).
   */
  packageRoot: string
}

export function contextOf(proc: NodeJS.Process): Context {
  return {
    env: { ...proc.env },
    stdin: proc.stdin,
    stdout: proc.stdout,
    stderr: proc.stderr,
    configDir: configDirOf(proc.env),
    packageRoot: packageRootOf(fileURLToPath(import.meta.url)),
  }
}

/** The nearest folder above `file` that holds a package.json. */
export function packageRootOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${file}`)
  }
}

/** The XDG Base Directory spec: a relative XDG_CONFIG_HOME is invalid and must be ignored. */
export function configDirOf(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CONFIG_HOME
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config')
  return join(base, 'keystash')
}

export const print = (ctx: Context, text: string) => {
  ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

export const printJson = (ctx: Context, value: unknown) => {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Notes, hints and warnings: stderr, so stdout stays clean for pipes. */
export const note = (ctx: Context, text: string) => {
  ctx.stderr.write(`${text}\n`)
}
