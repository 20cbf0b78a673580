import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AwsClients } from '../src/aws.ts'
import type { Config } from '../src/config.ts'
import { ensurePlatformKey } from '../src/kms/platform-key.ts'
import type { Logger } from '../src/logger.ts'
import { migrateTable } from '../src/storage/migrations/index.ts'
import { startDynamoDbLocal } from './dynamodb-local.ts'
import { stopWithParent } from './parent-watchdog.ts'

const KMS_MAIN = fileURLToPath(new URL('./kms-local/main.ts', import.meta.url))

export interface DevServices {
  dynamodbEndpoint: string
  kmsEndpoint: string
  /** Creates the table and the platform key when they are missing (idempotent). */
  prepare(aws: AwsClients, config: Readonly<Config>): Promise<void>
  stop(): Promise<void>
}

/**
 * Development mode's local services, as child processes: DynamoDB Local (persistent under
 * `<dataDir>/dynamodb`) and the local KMS (keys in `<dataDir>/kms-keys.json`).
 */
export async function startDevServices({
  dataDir,
  logger,
}: {
  dataDir: string
  logger: Logger
}): Promise<DevServices> {
  const dynamo = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb') })
  let kms: ChildProcess | undefined
  try {
    // Port 0: the kernel picks a free port as the server binds it, and the line it prints
    // says which (a port chosen ahead could be taken by someone else before the bind).
    kms = spawn(process.execPath, ['--import', 'tsx', KMS_MAIN], {
      env: {
        ...process.env,
        KMS_PORT: '0',
        KMS_HOST: '127.0.0.1',
        KMS_PERSIST_PATH: join(dataDir, 'kms-keys.json'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (kms.pid !== undefined) {
      const watchdog = stopWithParent(kms.pid)
      kms.once('exit', () => watchdog.release())
    }
    const kmsEndpoint = await waitForLine(kms, /local KMS listening on (http:\/\/\S+)/)
    logger.debug({ dynamodb: dynamo.endpoint, kms: kmsEndpoint }, 'local services started')
    const child = kms
    return {
      dynamodbEndpoint: dynamo.endpoint,
      kmsEndpoint,
      prepare: async (aws, config) => {
        const steps = await migrateTable({
          dynamodb: aws.dynamodb,
          doc: aws.doc,
          table: config.aws.table,
          log: (line) => logger.debug({ step: line }, 'migration'),
        })
        const table = steps.map((step) => `${step.id} ${step.outcome}`).join(', ')
        const key = await ensurePlatformKey(aws.kms, config.aws.platformKeyId)
        logger.info({ table, platformKey: key }, 'development storage ready')
      },
      stop: async () => {
        await stopChild(child)
        await dynamo.stop()
      },
    }
  } catch (error) {
    if (kms) await stopChild(kms)
    await dynamo.stop()
    throw error
  }
}

/** Resolves with the first capture group of `pattern` once the child prints a match. */
async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  const stdout = child.stdout
  if (!stdout) throw new Error('child has no stdout')
  return new Promise<string>((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      const match = pattern.exec(seen)
      if (match?.[1]) {
        stdout.off('data', onData)
        stdout.resume()
        resolve(match[1])
      }
    }
    stdout.on('data', onData)
    child.once('exit', (code) =>
      reject(new Error(`local KMS exited (${code}) before it was ready:\n${seen}`)),
    )
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
