import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb'
import { writeIf } from './conditional-write.ts'
import { type KekJob, kekJobItem } from './kek-jobs.ts'
import { itemKey } from './keys.ts'
import { queryPages } from './query-pages.ts'

/**
 * An organization's re-keying schedule, one item (`ORG#<id>` / `REKEY`). While re-keying is on
 * (a period above 0 days) the item sits in the sparse index `gsi1` under `REKEYDUE`, sorted by
 * its due date, which is how any instance finds the organizations due now without a scan.
 * Starting a re-key moves the due date on in the same transaction that files the job, on
 * condition that the due date is still the one read: of N instances ticking together, one
 * files the job and the others find their condition failed.
 */
export const DEFAULT_REKEY_PERIOD_DAYS = 365
const DUE_INDEX = 'REKEYDUE'
const DAY_MS = 86_400_000

export interface RekeySchedule {
  tenantId: string
  /** 0: never re-keyed on a schedule (a forced re-key still works). */
  periodDays: number
  /** When the current period began (ISO): the organization's creation, or its last re-key. */
  periodStart: string
  /** ISO time of the next scheduled re-key; absent while the period is 0. */
  dueAt?: string
  /** The last re-keying job filed, scheduled or forced. */
  jobId?: string
}

/** The due date `periodDays` after `from` (ISO), or none when re-keying is off. */
export function nextDue(from: string | number, periodDays: number): string | undefined {
  if (periodDays <= 0) return undefined
  return new Date(new Date(from).getTime() + periodDays * DAY_MS).toISOString()
}

/** The schedule of a new organization: the default period from its creation. */
export function initialSchedule(tenantId: string, createdAt: string): RekeySchedule {
  const dueAt = nextDue(createdAt, DEFAULT_REKEY_PERIOD_DAYS)
  return {
    tenantId,
    periodDays: DEFAULT_REKEY_PERIOD_DAYS,
    periodStart: createdAt,
    ...(dueAt ? { dueAt } : {}),
  }
}

export function rekeyScheduleItem(schedule: RekeySchedule) {
  return {
    ...itemKey.rekeySchedule(schedule.tenantId),
    type: 'rekey-schedule',
    ...schedule,
    ...(schedule.dueAt
      ? { gsi1pk: DUE_INDEX, gsi1sk: `${schedule.dueAt}#${schedule.tenantId}` }
      : {}),
  }
}

function toSchedule(item: Record<string, unknown>): RekeySchedule {
  const { tenantId, periodDays, periodStart, dueAt, jobId } = item as unknown as RekeySchedule
  return {
    tenantId,
    periodDays,
    periodStart,
    ...(dueAt ? { dueAt } : {}),
    ...(jobId ? { jobId } : {}),
  }
}

export function createRekeyScheduleStore({
  doc,
  table,
}: {
  doc: DynamoDBDocumentClient
  table: string
}) {
  return {
    async get(tenantId: string): Promise<RekeySchedule | undefined> {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: table,
          Key: itemKey.rekeySchedule(tenantId),
          ConsistentRead: true,
        }),
      )
      return Item ? toSchedule(Item) : undefined
    },

    /** Organizations whose re-key is due at `now` (ISO); the index lags: a hint, not a lock. */
    async listDue(now: string): Promise<string[]> {
      const out: string[] = []
      const pages = queryPages(doc, {
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :due AND gsi1sk < :bound',
        // '~' sorts after '#': a due date equal to now is included.
        ExpressionAttributeValues: { ':due': DUE_INDEX, ':bound': `${now}~` },
        ProjectionExpression: 'tenantId',
      })
      for await (const page of pages) {
        for (const item of page.Items ?? []) out.push(String(item.tenantId))
      }
      return out
    },

    /**
     * Writes `next` if the stored schedule is still `seen` (by due date and last job; an
     * absent schedule must still be absent), with `job` filed in the same transaction when
     * given. False, with nothing written, when another instance or request got there first.
     */
    async replace(
      seen: RekeySchedule | undefined,
      next: RekeySchedule,
      job?: KekJob,
    ): Promise<boolean> {
      const values: Record<string, string> = {}
      const same = (field: 'dueAt' | 'jobId', value: string | undefined) => {
        if (value === undefined) return `attribute_not_exists(${field})`
        values[`:${field}`] = value
        return `${field} = :${field}`
      }
      const condition = seen
        ? {
            ConditionExpression: `${same('dueAt', seen.dueAt)} AND ${same('jobId', seen.jobId)}`,
            ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
          }
        : { ConditionExpression: 'attribute_not_exists(pk)' }
      return writeIf(
        doc,
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table, Item: rekeyScheduleItem(next), ...condition } },
            ...(job ? [{ Put: { TableName: table, Item: kekJobItem(job) } }] : []),
          ],
        }),
        { anyCancellation: true },
      )
    },
  }
}

export type RekeyScheduleStore = ReturnType<typeof createRekeyScheduleStore>
