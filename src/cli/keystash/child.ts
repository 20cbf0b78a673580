import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { CliError } from './errors.ts'

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const
type Forwarded = (typeof FORWARDED_SIGNALS)[number]

export interface ChildOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  /**
   * Signals the terminal itself sends to the whole foreground process group (Ctrl-C, Ctrl-\):
   * when the child shares our terminal it has received them already, and a second copy would
   * look like a second Ctrl-C ("press again to force quit"). They are still forwarded when
   * they came from elsewhere (`kill`), which we cannot tell apart, so the caller decides.
   */
  skipTerminalSignals?: boolean
}

/**
 * Runs a command with our stdio, forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to it while it
 * runs (we stay alive until it exits), and resolves with its exit code: 128 + N when signal N
 * ended it, as a shell reports. A command that cannot be started: 127 (not found) or 126
 * (not executable), again as a shell would.
 */
export function runChild(command: string, args: readonly string[], options: ChildOptions) {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: 'inherit',
      env: options.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    })
    const forward = (signal: Forwarded) => {
      const fromTerminal = signal === 'SIGINT' || signal === 'SIGQUIT'
      if (fromTerminal && options.skipTerminalSignals) return
      child.kill(signal)
    }
    const handlers = FORWARDED_SIGNALS.map((signal) => {
      const handler = () => forward(signal)
      process.on(signal, handler)
      return [signal, handler] as const
    })
    const stop = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler)
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      stop()
      if (error.code === 'ENOENT') reject(new CliError(`command not found: ${command}`, 127))
      else if (error.code === 'EACCES') {
        reject(new CliError(`permission denied: ${command}`, 126))
      } else reject(new CliError(`cannot start ${command}: ${error.message}`, 126))
    })
    child.once('exit', (code, signal) => {
      stop()
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1))
    })
  })
}
