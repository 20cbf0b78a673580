import { spawn } from 'node:child_process'

export interface SpawnedServer {
  /** The API's base URL, from the "API:" line the server prints once it listens. */
  url: string
  /** Everything it printed so far, standard output and error interleaved. */
  output(): string
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>
  kill(signal: NodeJS.Signals): void
}

/**
 * Starts a Keystash server the way a user does (`node <args>` in `cwd`, nothing but `env` in its
 * environment) and resolves once it prints the URL it listens on; rejects if it exits first.
 */
export async function spawnServer(
  args: readonly string[],
  { cwd, env }: { cwd: string; env: Record<string, string> },
): Promise<SpawnedServer> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /API: +(http:\/\/\S+)/.exec(output)
      if (match?.[1]) resolve(match[1])
    })
    exited.then((code) => reject(new Error(`the server exited with ${code}:\n${output}`)))
  })
  return { url, output: () => output, exited, kill: (signal) => child.kill(signal) }
}
