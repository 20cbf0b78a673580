import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { writeIf } from './conditional-write.ts'
import { type ItemKey, itemKey } from './keys.ts'

export interface LastUsedOptions {
  doc: DynamoDBDocumentClient
  table: string
  clock: Clock
  logger: Logger
  /** At most one write per item per interval per instance (DESIGN.md 5: 60 s). */
  intervalMs?: number
  maxTracked?: number
}

/**
 * Records `lastUsedAt` on tokens and keys without slowing the request that used them: the
 * write is not awaited, at most one per item per minute leaves this instance (so the stored
 * time is accurate to that minute), and a failed write is logged, never thrown.
 */
export function createLastUsedTracker({
  doc,
  table,
  clock,
  logger,
  intervalMs = 60_000,
  maxTracked = 100_000,
}: LastUsedOptions) {
  const lastWrite = new Map<string, number>()
  const inFlight = new Set<Promise<void>>()

  /** Records a use of `key` at `now` (the clock's time unless given). */
  function touch(key: ItemKey, now = clock.now()): void {
    const id = `${key.pk}|${key.sk}`
    const previous = lastWrite.get(id)
    if (previous !== undefined && now - previous < intervalMs) return
    lastWrite.delete(id)
    lastWrite.set(id, now)
    if (lastWrite.size > maxTracked) {
      const oldest = lastWrite.keys().next().value
      if (oldest !== undefined) lastWrite.delete(oldest)
    }
    const at = new Date(now).toISOString()
    const write = writeIf(
      doc,
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET lastUsedAt = :at',
        // Never move it backwards (another instance may have written a later time).
        ConditionExpression:
          'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :at)',
        ExpressionAttributeValues: { ':at': at },
      }),
    )
      .then(
        () => undefined,
        (error: unknown) => {
          lastWrite.delete(id)
          logger.warn(
            { item: key.sk.split('#')[0], error: (error as Error)?.name },
            'lastUsedAt write failed',
          )
        },
      )
      .finally(() => inFlight.delete(write))
    inFlight.add(write)
  }

  // Records served from a cache for their staleness bound are the same object on every request.
  const asked = new WeakMap<object, number>()
  /**
   * `touch` for the items a record read from storage stands for, at most once per interval
   * per record object: a record remembered for its staleness bound makes one call a minute,
   * not one per request, and the warm read path builds no item keys. A write that failed is
   * tried again when the record is read anew, or a minute later.
   */
  function touchFor(record: object, keys: () => readonly ItemKey[]): void {
    const now = clock.now()
    const last = asked.get(record)
    if (last !== undefined && now - last < intervalMs) return
    asked.set(record, now)
    // One time for all of them: a key's id and name items say the same.
    for (const key of keys()) touch(key, now)
  }

  return {
    touch,
    touchFor,
    /** `touchFor` a token record (its item). */
    touchToken(record: { tenantId: string; tokenId: string }): void {
      touchFor(record, () => [itemKey.token(record.tenantId, record.tokenId)])
    },
    /** `touchFor` a key record (its id and name items). */
    touchKey(record: { tenantId: string; keyId: string; name: string }): void {
      touchFor(record, () => [
        itemKey.key(record.tenantId, record.keyId),
        itemKey.keyName(record.tenantId, record.name),
      ])
    },
    /** `touch` a trust relationship's item. */
    touchTrust(tenantId: string, relationshipId: string, now?: number): void {
      touch(itemKey.trust(tenantId, relationshipId), now)
    },
    /** Resolves when every write started so far has finished (tests and shutdown). */
    async settled(): Promise<void> {
      await Promise.all([...inFlight])
    },
  }
}

export type LastUsedTracker = ReturnType<typeof createLastUsedTracker>
