import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Clock } from '../lib/clock.ts'
import { writeIf } from './conditional-write.ts'
import { epochSeconds, type ItemKey } from './keys.ts'

/**
 * Idempotency records: one item per (tenant, Idempotency-Key), `IDEMP#<tenantId>#<sha256(key)>`
 * / `IDEMP`. The key itself is never stored (only its hash), so a client that puts something
 * sensitive in it leaks nothing. An item is `pending` while its first request runs (a lock that
 * expires, so a crashed instance cannot block the key for a day) and `done` once the response
 * is stored; it lives `retentionMs` (24 h by default) from the first request.
 */

export interface StoredResponse {
  status: number
  /** Headers worth replaying (content-type, cache-control, location). */
  headers: Record<string, string>
  /** The body as sent, or `sealed` (an envelope record) when it carries a secret. */
  body?: string
  sealed?: string
}

export type BeginOutcome =
  | { kind: 'started'; owner: string }
  | { kind: 'in_flight'; retryAfterSeconds: number }
  | { kind: 'mismatch' }
  | { kind: 'replay'; response: StoredResponse }

export interface IdempotencyScope {
  tenantId: string
  /** sha256 (hex) of the client's Idempotency-Key. */
  keyHash: string
}

export interface IdempotencyStore {
  /** Claims the key for this request, or says why not. */
  begin(scope: IdempotencyScope, fingerprint: string): Promise<BeginOutcome>
  /** Stores the response of a claimed key (no-op if the claim was lost meanwhile). */
  complete(scope: IdempotencyScope, owner: string, response: StoredResponse): Promise<void>
  /** Gives a claimed key back, so a retry runs the request again (after a failure). */
  release(scope: IdempotencyScope, owner: string): Promise<void>
}

export const idempotencyItemKey = (scope: IdempotencyScope): ItemKey => ({
  pk: `IDEMP#${scope.tenantId}#${scope.keyHash}`,
  sk: 'IDEMP',
})

export interface IdempotencyStoreOptions {
  doc: DynamoDBDocumentClient
  table: string
  clock: Clock
  /** How long a key is remembered. At least 24 h. */
  retentionMs?: number
  /** How long a pending claim holds before another request may take the key over. */
  lockMs?: number
}

const DAY_MS = 24 * 3600_000

export function createIdempotencyStore({
  doc,
  table,
  clock,
  retentionMs = DAY_MS,
  lockMs = 60_000,
}: IdempotencyStoreOptions): IdempotencyStore {
  if (retentionMs < DAY_MS) throw new TypeError('idempotency keys must be kept at least 24 h')
  if (lockMs <= 0) throw new TypeError('idempotency lockMs must be positive')

  async function tryClaim(scope: IdempotencyScope, fingerprint: string, owner: string) {
    const now = clock.now()
    const expiresAt = now + retentionMs
    return writeIf(
      doc,
      new PutCommand({
        TableName: table,
        Item: {
          ...idempotencyItemKey(scope),
          type: 'idempotency',
          state: 'pending',
          fingerprint,
          owner,
          lockedUntil: now + lockMs,
          expiresAt,
          ttl: epochSeconds(new Date(expiresAt)),
        },
        // DynamoDB Local never expires items (and AWS takes its time): expiry is checked here.
        ConditionExpression:
          'attribute_not_exists(pk) OR expiresAt < :now OR (#state = :pending AND lockedUntil < :now)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':now': now, ':pending': 'pending' },
      }),
    )
  }

  return {
    async begin(scope, fingerprint) {
      const owner = crypto.randomUUID()
      // A claim can fail against an item that is released before we read it: try again then.
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await tryClaim(scope, fingerprint, owner)) return { kind: 'started', owner }
        const { Item } = await doc.send(
          new GetCommand({
            TableName: table,
            Key: idempotencyItemKey(scope),
            ConsistentRead: true,
          }),
        )
        if (!Item) continue
        if (Item.fingerprint !== fingerprint) return { kind: 'mismatch' }
        if (Item.state === 'done') return { kind: 'replay', response: Item.response }
        // Requests take milliseconds; the lock's length only bounds a crashed instance's claim.
        return { kind: 'in_flight', retryAfterSeconds: 1 }
      }
      return { kind: 'in_flight', retryAfterSeconds: 1 }
    },

    async complete(scope, owner, response) {
      // Refused when the claim is no longer this owner's: nothing of theirs to change.
      await writeIf(
        doc,
        new UpdateCommand({
          TableName: table,
          Key: idempotencyItemKey(scope),
          UpdateExpression: 'SET #state = :done, #response = :response REMOVE lockedUntil',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#response': 'response',
            '#owner': 'owner',
          },
          ExpressionAttributeValues: { ':done': 'done', ':response': response, ':owner': owner },
        }),
      )
    },

    async release(scope, owner) {
      // Refused when the claim is no longer this owner's: nothing of theirs to change.
      await writeIf(
        doc,
        new DeleteCommand({
          TableName: table,
          Key: idempotencyItemKey(scope),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      )
    },
  }
}
