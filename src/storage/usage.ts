import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { itemKey } from './keys.ts'
import { queryPages } from './query-pages.ts'

const DAY_MS = 86400_000

export type UsageSubject = 'key' | 'token'

export interface UsageOptions {
  doc: DynamoDBDocumentClient
  table: string
  clock: Clock
  logger: Logger
  /** One write per counter per interval per instance, like last-used (DESIGN.md 5: 60 s). */
  flushIntervalMs?: number
  /** How long a day's counters are kept (the `ttl` attribute). */
  retentionDays?: number
}

interface Pending {
  tenantId: string
  subject: UsageSubject
  id: string
  day: number
  count: number
}

export interface UsageRow {
  subject: UsageSubject
  id: string
  /** `YYYY-MM-DD`, UTC. */
  day: string
  reads: number
}

const dayString = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)
const usageSk = (day: number, subject: UsageSubject, id: string) =>
  `USAGE#${dayString(day)}#${subject}#${id}`

/**
 * Reads per key and per token per day. A read adds one to a counter in memory (a WeakMap hit
 * on the cached record, no I/O and no key string built); once a minute each counter that moved
 * becomes one `ADD` to its day's item, so the warm read path makes no DynamoDB write of its own
 * and a busy key costs one write a minute per instance whatever its traffic. A failed write
 * keeps its count for the next flush; a crash loses at most the last minute's counts.
 */
export function createUsageCounter({
  doc,
  table,
  clock,
  logger,
  flushIntervalMs = 60_000,
  retentionDays = 90,
}: UsageOptions) {
  const pending = new Map<string, Pending>()
  // The counter of a record object (cached records and principals are the same object on every
  // request) for the day it was last counted on.
  const byObject = new WeakMap<object, Pending>()
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined

  function count(owner: object, tenantId: string, subject: UsageSubject, id: string): void {
    const day = Math.floor(clock.now() / DAY_MS)
    const known = byObject.get(owner)
    if (known !== undefined && known.day === day) {
      known.count++
      return
    }
    const name = `${tenantId}|${subject}|${id}|${day}`
    let entry = pending.get(name)
    if (entry === undefined) {
      entry = { tenantId, subject, id, day, count: 0 }
      pending.set(name, entry)
    }
    entry.count++
    byObject.set(owner, entry)
  }

  async function flushNow(): Promise<void> {
    const today = Math.floor(clock.now() / DAY_MS)
    const writes: Promise<void>[] = []
    for (const [name, entry] of pending) {
      const n = entry.count
      // Past days' idle counters are done; today's stay, so cached records keep their entry.
      if (n === 0) {
        if (entry.day < today) pending.delete(name)
        continue
      }
      entry.count = 0
      writes.push(
        doc
          .send(
            new UpdateCommand({
              TableName: table,
              Key: {
                pk: itemKey.org(entry.tenantId).pk,
                sk: usageSk(entry.day, entry.subject, entry.id),
              },
              UpdateExpression: 'ADD #reads :n SET #ttl = :ttl',
              // Both are DynamoDB reserved words.
              ExpressionAttributeNames: { '#reads': 'reads', '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':n': n,
                ':ttl': Math.floor(((entry.day + 1) * DAY_MS) / 1000) + retentionDays * 86400,
              },
            }),
          )
          .then(
            () => undefined,
            (error: unknown) => {
              entry.count += n
              logger.warn(
                { subject: entry.subject, error: (error as Error)?.name },
                'usage counter write failed',
              )
            },
          ),
      )
    }
    await Promise.all(writes)
  }

  /** Writes what was counted so far (one at a time: a flush never overlaps another). */
  function flush(): Promise<void> {
    const next = (flushing ?? Promise.resolve()).then(flushNow)
    flushing = next
    return next
  }

  return {
    /** A read of a key (or by a token), counted in memory. */
    count,
    flush,
    start(): void {
      if (timer) return
      timer = setInterval(() => void flush(), flushIntervalMs)
      timer.unref()
    },
    /** Stops the timer and writes what is left (shutdown). */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      await flush()
    },

    /** A tenant's counters for the days from `fromMs` to now, oldest first. */
    async read(tenantId: string, fromMs: number): Promise<UsageRow[]> {
      const first = Math.floor(fromMs / DAY_MS)
      const last = Math.floor(clock.now() / DAY_MS)
      const rows: UsageRow[] = []
      const pages = queryPages(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: {
          ':pk': itemKey.org(tenantId).pk,
          ':lo': `USAGE#${dayString(first)}#`,
          ':hi': `USAGE#${dayString(last)}#~`,
        },
      })
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          const [, day, subject, ...rest] = String(item.sk).split('#')
          if (!day || (subject !== 'key' && subject !== 'token')) continue
          rows.push({ subject, id: rest.join('#'), day, reads: Number(item.reads ?? 0) })
        }
      }
      return rows
    },
  }
}

export type UsageCounter = ReturnType<typeof createUsageCounter>

/** Counts nothing: for `KEYSTASH_USAGE_COUNTERS=off` and for tests that need no counters. */
export const noUsageCounter: Pick<UsageCounter, 'count'> = { count: () => {} }
