import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { findFreePort } from '../free-port.ts'

export interface ServerProcess {
  url: string
  pid: number
  stop(): Promise<void>
}

export interface ServerProcessOptions {
  /** The child's whole environment; PORT and HOST are set on top of it. */
  env: NodeJS.ProcessEnv
  /** Polled until it answers (any status) to tell that the server listens. */
  readyPath?: string
  readyTimeoutMs?: number
  /** How the child is told where to listen; by default PORT and HOST. */
  listenEnv?: (port: number, host: string) => NodeJS.ProcessEnv
  /** Node flags before the entry, e.g. the server's own (src/node-flags.ts). */
  nodeFlags?: readonly string[]
}

const portAndHost = (port: number, host: string) => ({ PORT: String(port), HOST: host })

/**
 * Runs an HTTP server, compiled JavaScript or TypeScript (then tsx's loader in a plain `node`, so
 * the pid is the server's own), on a free port passed as PORT (or as `listenEnv` says), the way
 * `npm start` takes it. The load generator stays in our process and the server gets its own
 * event loop and core.
 */
export async function startServerProcess(
  entry: string,
  {
    env,
    readyPath = '/',
    readyTimeoutMs = 20_000,
    listenEnv = portAndHost,
    nodeFlags = [],
  }: ServerProcessOptions,
): Promise<ServerProcess> {
  const host = '127.0.0.1'
  const port = await findFreePort(host)
  const url = `http://${host}:${port}`
  // BENCH_CPU_PROF=<dir>: every server writes a CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...profiling, ...nodeFlags, ...loader, entry], {
    env: { ...env, ...listenEnv(port, host) },
    // Request logs on stdout would cost the server time and fill an undrained pipe.
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_000)
  })
  const killOnExit = () => child.kill('SIGKILL')
  process.on('exit', killOnExit)
  const exited = once(child, 'exit').then(() => process.off('exit', killOnExit))

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const escalation = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(escalation)
  }

  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`${entry} did not start listening on ${url}; its stderr:\n${stderr}`)
    }
    try {
      await fetch(url + readyPath, { signal: AbortSignal.timeout(1_000) })
      return { url, pid: child.pid as number, stop }
    } catch {
      await Promise.race([delay(50), exited])
    }
  }
}
