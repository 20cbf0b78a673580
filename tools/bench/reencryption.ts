import { randomUUID } from 'node:crypto'
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { createApp } from '../../src/app.ts'
import type { Principal } from '../../src/auth/principal.ts'
import { SCOPES } from '../../src/auth/scopes.ts'
import { type AwsClients, DEV_CREDENTIALS } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { buildDeps } from '../../src/deps.ts'
import { ensurePlatformKey } from '../../src/kms/platform-key.ts'
import { createLogger } from '../../src/logger.ts'
import { migrateTable } from '../../src/storage/migrations/index.ts'
import { createLocalDynamoClient } from '../dynamodb-local.ts'
import { runClosedLoop } from './closed-loop.ts'
import type { Measurement } from './scenario.ts'

/**
 * The bench hook for bring-your-own-key: a Keystash instance in this process (its job runner
 * included) on the given DynamoDB Local and local KMS, with `keys` keys seeded under the
 * platform key. `rotate()` switches the tenant to a fresh KMS key and times the re-encryption
 * job to the end (records/s); `reads()` measures value reads, optionally while a job runs.
 */
export interface ReencryptionBenchOptions {
  dynamodbEndpoint: string
  kmsUrl: string
  keys: number
  /** The job's rate limit (KEYSTASH_REENCRYPT_RATE); the server's default when absent. */
  recordsPerSecond?: number
}

const REGION = 'us-east-1'

export async function prepareReencryptionBench(options: ReencryptionBenchOptions) {
  const tableName = `keystash-bench-byok-${randomUUID()}`
  const dynamodb = createLocalDynamoClient(options.dynamodbEndpoint)
  await migrateTable({
    dynamodb: dynamodb,
    doc: DynamoDBDocumentClient.from(dynamodb),
    table: tableName,
    log: () => {},
  })
  const kms = new KMSClient({
    region: REGION,
    endpoint: options.kmsUrl,
    credentials: DEV_CREDENTIALS,
  })
  await ensurePlatformKey(kms, 'alias/keystash-platform')
  const config = loadConfig({
    KEYSTASH_TABLE: tableName,
    AWS_REGION: REGION,
    KEYSTASH_KMS_KEY_ID: 'alias/keystash-platform',
    KEYSTASH_DYNAMODB_ENDPOINT: options.dynamodbEndpoint,
    KEYSTASH_KMS_ENDPOINT: options.kmsUrl,
    KEYSTASH_AUDIT_MODE: 'off',
    ...(options.recordsPerSecond
      ? { KEYSTASH_REENCRYPT_RATE: String(options.recordsPerSecond) }
      : {}),
  })
  const aws: AwsClients = { dynamodb, doc: DynamoDBDocumentClient.from(dynamodb), kms }
  const deps = buildDeps(config, createLogger({ level: 'warn' }), aws)
  const app = createApp(deps)

  const tenantId = `org_bench${randomUUID().replaceAll('-', '').slice(0, 22)}`
  const principal: Principal = {
    kind: 'session',
    tokenId: 'tok_bench',
    tenantId,
    userId: 'usr_bench',
    scopes: [...SCOPES],
    expiresAt: new Date(Date.now() + 86_400_000),
  }
  const names = Array.from({ length: options.keys }, (_, i) => `bench-${i}`)
  for (let i = 0; i < names.length; i += 32) {
    await Promise.all(
      names
        .slice(i, i + 32)
        .map((name) => deps.keyService.create(principal, { name, value: `v-${name}` })),
    )
  }

  let reads = 0
  /** Reads the keys of `working` in turn: a few hot keys, or every key (all cold). */
  const reader = (working: string[]) => async () => {
    // A request reaches a server as I/O, a turn of the event loop; a read served from memory
    // would otherwise resolve in microtasks only and starve the job's timers and I/O, which
    // then measures reads next to a job that cannot run.
    await new Promise(setImmediate)
    // Served over HTTP, requestContext would tell the gauge; called directly, we do.
    deps.foreground.mark()
    const name = working[reads++ % working.length] ?? ''
    const { value } = await deps.reveal(principal, undefined, name)
    if (value !== `v-${name}`) throw new Error('a read returned another value')
  }

  /** Switches to a new KMS key; resolves once the job it starts is under way. */
  async function startRotation() {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const view = await deps.encryption.configure(principal, {
      provider: 'aws-kms',
      keyArn: KeyMetadata?.Arn ?? '',
    })
    return view.job?.id ?? ''
  }

  return {
    app,
    async rotate(): Promise<{
      records: number
      seconds: number
      recordsPerSecond: number
      failed: number
    }> {
      const started = performance.now()
      const jobId = await startRotation()
      await deps.reencryption.idle()
      const seconds = (performance.now() - started) / 1000
      const job = await deps.encryption.job(principal, jobId)
      return {
        records: job.done,
        seconds,
        recordsPerSecond: job.done / seconds,
        failed: job.failed,
      }
    },

    /**
     * Value reads through the domain (no HTTP), `during: true` with a job running throughout.
     * `hotKeys`: the reads cycle over that many keys, as an application reading its own few
     * keys does; absent, over every key, so each read is a cold one (a miss in every cache).
     */
    async reads(load: {
      concurrency: number
      seconds: number
      warmupSeconds: number
      during: boolean
      hotKeys?: number
    }): Promise<Measurement & { jobRecords: number }> {
      const jobId = load.during ? await startRotation() : undefined
      // Measured once the job is moving records, not while it waits out the staleness bound
      // and counts what it has to move.
      const movedSoFar = async () =>
        jobId ? (await deps.encryption.job(principal, jobId)).done : 0
      const started = performance.now()
      while (jobId && (await movedSoFar()) === 0) {
        if (performance.now() - started > 60_000) throw new Error('the job moved nothing in 60 s')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const before = await movedSoFar()
      const working = load.hotKeys ? names.slice(0, load.hotKeys) : names
      const measurement = await runClosedLoop(reader(working), load)
      const jobRecords = (await movedSoFar()) - before
      // A job still running is stopped; the next rotation supersedes it.
      await deps.reencryption.stop()
      return { ...measurement, jobRecords }
    },

    async close(): Promise<void> {
      await deps.reencryption.stop()
      kms.destroy()
    },
  }
}

export type ReencryptionBench = Awaited<ReturnType<typeof prepareReencryptionBench>>
