import { fileURLToPath } from 'node:url'
import { type DynamoDbLocal, startDynamoDbLocal } from '../dynamodb-local.ts'
import { type ServerProcess, startServerProcess } from './server-process.ts'

const KMS_MAIN = fileURLToPath(new URL('../kms-local/main.ts', import.meta.url))

/**
 * The services a run shares between scenarios, each started on first use: DynamoDB Local (a
 * JVM) and the local KMS (its own Node process, so its work does not land on the load
 * generator's event loop).
 */
export function createSharedServices(env: NodeJS.ProcessEnv) {
  let dynamodb: Promise<DynamoDbLocal> | undefined
  let kms: Promise<ServerProcess> | undefined
  const pids: Record<string, number> = {}
  return {
    async dynamodbEndpoint(): Promise<string> {
      // A loaded machine can take far longer than the usual 2-4 s to start the JVM.
      dynamodb ??= startDynamoDbLocal({ readyTimeoutMs: 180_000 })
      const started = await dynamodb
      pids.dynamodb = started.pid
      return started.endpoint
    },
    async kms(): Promise<{ url: string; pid: number }> {
      kms ??= startServerProcess(KMS_MAIN, {
        // In memory: nothing of a run outlives it.
        env: { ...env, KMS_PERSIST_PATH: '' },
        readyPath: '/_local/health',
        listenEnv: (port, host) => ({ KMS_PORT: String(port), KMS_HOST: host }),
      })
      const started = await kms
      pids.kms = started.pid
      return { url: started.url, pid: started.pid }
    },
    /** pids of the services started so far, by role. */
    pids: (): Record<string, number> => ({ ...pids }),
    async stop(): Promise<void> {
      const running = [dynamodb, kms].map((service) => service?.catch(() => undefined))
      await Promise.all(running.map(async (service) => (await service)?.stop()))
    },
  }
}
