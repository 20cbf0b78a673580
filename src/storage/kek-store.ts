import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { AppError } from '../errors.ts'
import type { OutboxEvent } from '../events/catalog.ts'
import type { KekRecord } from '../kms/kek-records.ts'
import { sendConditional, writeIf } from './conditional-write.ts'
import { type KekJob, kekJobItem } from './kek-jobs.ts'
import { itemKey } from './keys.ts'
import { eventPut } from './outbox.ts'
import { queryAll } from './query-pages.ts'

const FIELDS = [
  'tenantId',
  'version',
  'provider',
  'keyId',
  'replicaArns',
  'roleArn',
  'externalId',
  'sealedMaterial',
  'status',
  'createdAt',
  'retiredAt',
  'dataKeyCacheTtlSeconds',
  'jobId',
] as const

function toKekRecord(item: Record<string, unknown>): KekRecord {
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (item[field] !== undefined) out[field] = item[field]
  return out as unknown as KekRecord
}

const kekItem = (r: KekRecord) => ({ ...itemKey.kek(r.tenantId, r.version), type: 'kek', ...r })

const changedMeanwhile = () =>
  new AppError('conflict', 'The encryption configuration changed meanwhile; read it and retry.')

/** A tenant's KEK versions (see kms/kek-records.ts), all in the tenant's partition. */
export function createKekStore({ doc, table }: { doc: DynamoDBDocumentClient; table: string }) {
  return {
    async list(tenantId: string): Promise<KekRecord[]> {
      const out: KekRecord[] = []
      const items = await queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': itemKey.org(tenantId).pk, ':prefix': 'KEK#' },
        ConsistentRead: true,
      })
      for (const item of items) out.push(toKekRecord(item))
      return out.sort((a, b) => a.version - b.version)
    },

    /**
     * Makes `next` the active version and `previous` a retiring one, and files the job that
     * will move records to `next`: all or nothing. `previous` without a stored record (the
     * implicit platform version) is written as a record now, so history is complete.
     */
    async rotate(input: {
      previous: KekRecord
      previousStored: boolean
      next: KekRecord
      job: KekJob
      /** Written in the same transaction (`encryption.changed`). */
      events?: OutboxEvent[]
    }) {
      const { previous, previousStored, next, job, events = [] } = input
      const retire = previousStored
        ? {
            Update: {
              TableName: table,
              Key: itemKey.kek(previous.tenantId, previous.version),
              UpdateExpression: 'SET #status = :retiring',
              ConditionExpression: '#status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':retiring': 'retiring', ':active': 'active' },
            },
          }
        : {
            Put: {
              TableName: table,
              Item: kekItem({ ...previous, status: 'retiring' }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          }
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            retire,
            {
              Put: {
                TableName: table,
                Item: kekItem(next),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName: table, Item: kekJobItem(job) } },
            ...events.map((event) => eventPut(table, event)),
          ],
        }),
        () => {
          throw changedMeanwhile()
        },
        { anyCancellation: true },
      )
    },

    /** Files a new job for the active version (a retry of a failed one). */
    async restartJob(active: KekRecord, job: KekJob) {
      await sendConditional(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: itemKey.kek(active.tenantId, active.version),
                UpdateExpression: 'SET jobId = :job',
                ConditionExpression: '#status = :active AND jobId = :previous',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':job': job.jobId,
                  ':previous': active.jobId ?? '',
                  ':active': 'active',
                },
              },
            },
            { Put: { TableName: table, Item: kekJobItem(job) } },
          ],
        }),
        () => {
          throw changedMeanwhile()
        },
        { anyCancellation: true },
      )
    },

    /** Changes the active version's settings in place (no new version: the key is the same). */
    async saveSettings(active: KekRecord, stored: boolean, ttl: number | undefined) {
      const record: KekRecord = { ...active }
      if (ttl === undefined) delete record.dataKeyCacheTtlSeconds
      else record.dataKeyCacheTtlSeconds = ttl
      const refused = () => {
        throw changedMeanwhile()
      }
      if (!stored) {
        await sendConditional(
          doc,
          new PutCommand({
            TableName: table,
            Item: kekItem(record),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
          refused,
        )
        return
      }
      await sendConditional(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: itemKey.kek(active.tenantId, active.version),
          UpdateExpression: ttl === undefined ? 'REMOVE #ttl' : 'SET #ttl = :ttl',
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#ttl': 'dataKeyCacheTtlSeconds', '#status': 'status' },
          ExpressionAttributeValues: {
            ':active': 'active',
            ...(ttl === undefined ? {} : { ':ttl': ttl }),
          },
        }),
        refused,
      )
    },

    /**
     * Marks `versions` retired, if `target` is still the active version; erases raw material,
     * which nothing may use again. Idempotent: a version already retired stays so. False, with
     * nothing written, when `target` is no longer the active version.
     */
    async retire(
      tenantId: string,
      versions: number[],
      target: number,
      at: string,
    ): Promise<boolean> {
      if (versions.length === 0) return true
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: table,
                Key: itemKey.kek(tenantId, target),
                ConditionExpression: '#status = :active',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':active': 'active' },
              },
            },
            ...versions.map((version) => ({
              Update: {
                TableName: table,
                Key: itemKey.kek(tenantId, version),
                UpdateExpression: 'SET #status = :retired, retiredAt = :at REMOVE sealedMaterial',
                ConditionExpression: '#status IN (:retiring, :retired)',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':retired': 'retired',
                  ':retiring': 'retiring',
                  ':at': at,
                },
              },
            })),
          ],
        }),
        { anyCancellation: true },
      )
    },
  }
}

export type KekStore = ReturnType<typeof createKekStore>
