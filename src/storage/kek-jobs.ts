import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { OutboxEvent } from '../events/catalog.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'
import { queryAll } from './query-pages.ts'

/**
 * Re-encryption jobs (jobs/reencrypt.ts), one item each in the tenant's partition. While a job
 * is open it is also in the sparse index `gsi1` under `KEKJOBS`, which is how any instance
 * finds unfinished jobs to resume; a finished job leaves the index.
 *
 * Leases: the instance running a job holds `leaseOwner` until `leaseUntil` (epoch ms) and
 * extends it with every progress save, each conditional on still holding it. Another instance
 * may claim the job only once the lease has run out, so one job never runs twice at once.
 */
export type JobStatus = 'pending' | 'running' | 'finished' | 'failed' | 'superseded'
export type JobKind = 'reencrypt' | 'rekey'
export const OPEN_STATUSES: readonly JobStatus[] = ['pending', 'running']

export interface JobFailure {
  keyId: string
  version: number
  code: string
}

export interface KekJob {
  tenantId: string
  jobId: string
  /**
   * `reencrypt` (the default, and every job filed before re-keying existed) moves data keys
   * to a new KEK version; `rekey` gives every value a fresh data key (jobs/rekey-record.ts).
   */
  kind?: JobKind
  /** The KEK version every record is moved to (rekey: the version active when it was filed). */
  targetVersion: number
  /** rekey: records whose data key was made before this time (ISO) get a new one. */
  sealedBefore?: string
  status: JobStatus
  createdAt: string
  /** Epoch ms: the job waits until every instance has seen the new version (staleness bound). */
  notBefore: number
  startedAt?: string
  finishedAt?: string
  /** Key versions in the tenant when the job started, and how many are under the target. */
  total: number
  done: number
  failed: number
  failures: JobFailure[]
  /** Passes over the tenant's records; the last one finds nothing left to move. */
  pass: number
  /** Sort key of the last record of the last saved batch of this pass. */
  cursor?: string
  leaseOwner?: string
  leaseUntil?: number
}

const OPEN_INDEX = 'KEKJOBS'

export function kekJobItem(job: KekJob) {
  const open = OPEN_STATUSES.includes(job.status)
  return {
    ...itemKey.kekJob(job.tenantId, job.jobId),
    type: 'kek-job',
    ...job,
    ...(open ? { gsi1pk: OPEN_INDEX, gsi1sk: `${job.tenantId}#${job.jobId}` } : {}),
  }
}

function toJob(item: Record<string, unknown>): KekJob {
  const { pk: _pk, sk: _sk, type: _type, gsi1pk: _g, gsi1sk: _s, ...job } = item
  return job as unknown as KekJob
}

export class LeaseLost extends Error {}

export function createKekJobStore({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  return {
    async get(tenantId: string, jobId: string): Promise<KekJob | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.kekJob(tenantId, jobId),
          ConsistentRead: true,
        }),
      )
      return Item ? toJob(Item) : undefined
    },

    /** Open jobs of every tenant (the index is eventually consistent: a poll, not a lock). */
    async listOpen(): Promise<Array<{ tenantId: string; jobId: string }>> {
      const out: Array<{ tenantId: string; jobId: string }> = []
      const items = await queryAll(doc, {
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :open',
        ExpressionAttributeValues: { ':open': OPEN_INDEX },
        ProjectionExpression: 'tenantId, jobId',
      })
      for (const item of items) {
        out.push({ tenantId: String(item.tenantId), jobId: String(item.jobId) })
      }
      return out
    },

    /** Takes the job's lease if it is free (or already ours); undefined when it is not. */
    async claim(tenantId: string, jobId: string, owner: string, now: number, leaseMs: number) {
      const claimed = await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.kekJob(tenantId, jobId),
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression:
            '#status IN (:pending, :running) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': now + leaseMs,
            ':now': now,
            ':pending': 'pending',
            ':running': 'running',
          },
          ReturnValues: 'ALL_NEW',
        }),
        () => undefined,
      )
      return claimed?.Attributes ? toJob(claimed.Attributes) : undefined
    },

    /** Gives the lease up (a graceful stop), so another instance can resume the job at once. */
    async release(tenantId: string, jobId: string, owner: string): Promise<void> {
      // Refused when the lease is no longer ours: nothing to give up.
      await writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.kekJob(tenantId, jobId),
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      )
    },

    /**
     * Saves progress and extends the lease, only while `owner` holds it (else LeaseLost). A
     * terminal status also leaves the open index and gives the lease up.
     */
    async save(
      job: KekJob,
      owner: string,
      leaseUntil: number | undefined,
      /** Written in the same transaction (`reencryption.finished`, `reencryption.failed`). */
      events: OutboxEvent[] = [],
    ): Promise<void> {
      const terminal = !OPEN_STATUSES.includes(job.status)
      const set: Record<string, unknown> = {
        status: job.status,
        total: job.total,
        done: job.done,
        failed: job.failed,
        failures: job.failures,
        pass: job.pass,
        startedAt: job.startedAt,
        finishedAt: job.finishedAt,
        cursor: job.cursor,
      }
      const remove: string[] = []
      if (terminal || leaseUntil === undefined) remove.push('leaseOwner', 'leaseUntil')
      else set.leaseUntil = leaseUntil
      if (terminal) remove.push('gsi1pk', 'gsi1sk')
      for (const [field, value] of Object.entries(set)) {
        if (value === undefined) {
          delete set[field]
          remove.push(field)
        }
      }
      // Every name goes through a placeholder: several (status, total, pass...) are reserved.
      const names: Record<string, string> = { '#owner': 'leaseOwner' }
      const values: Record<string, unknown> = { ':owner': owner }
      for (const field of [...Object.keys(set), ...remove]) names[`#${field}`] = field
      for (const [field, value] of Object.entries(set)) values[`:${field}`] = value
      const expression = [
        `SET ${Object.keys(set)
          .map((f) => `#${f} = :${f}`)
          .join(', ')}`,
        remove.length ? `REMOVE ${remove.map((f) => `#${f}`).join(', ')}` : '',
      ].join(' ')
      const update = {
        TableName: table,
        Key: itemKey.kekJob(job.tenantId, job.jobId),
        UpdateExpression: expression.trim(),
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }
      await sendConditional(
        doc,
        events.length === 0
          ? new UpdateCommand(update)
          : new TransactWriteCommand({
              TransactItems: [{ Update: update }, ...events.map((event) => eventPut(table, event))],
            }),
        () => {
          throw new LeaseLost()
        },
        { anyCancellation: true },
      )
    },
  }
}

export type KekJobStore = ReturnType<typeof createKekJobStore>
