import { createHash } from 'node:crypto'
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import type { Clock } from '../auth/clock.ts'
import { epochSeconds, itemKey } from './keys.ts'

export interface ThrottleRule {
  /** Failures within `windowMs` that lock the subject. */
  maxFailures: number
  windowMs: number
  lockMs: number
}

export const LOGIN_RULES = {
  email: { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
  address: { maxFailures: 50, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
} satisfies Record<string, ThrottleRule>

/**
 * Failed-login counters in DynamoDB, so every instance sees the same lock. Subjects are an
 * e-mail (hashed: the table should not collect addresses of people who have no account) and a
 * client address. Failures count whether or not the e-mail exists, so a lock reveals nothing.
 */
export function createLoginThrottle({
  doc,
  table,
  clock,
  rules = LOGIN_RULES,
}: {
  doc: DynamoDBDocumentClient
  table: string
  clock: Clock
  rules?: { email: ThrottleRule; address: ThrottleRule }
}) {
  const subjects = (email: string, address: string | undefined) => [
    {
      key: itemKey.loginFailures(`email:${createHash('sha256').update(email).digest('hex')}`),
      rule: rules.email,
    },
    ...(address ? [{ key: itemKey.loginFailures(`ip:${address}`), rule: rules.address }] : []),
  ]

  return {
    /** Milliseconds until the lock lifts, or 0 when login may be attempted. */
    async lockedFor(email: string, address: string | undefined): Promise<number> {
      const now = clock.now()
      let wait = 0
      for (const { key } of subjects(email, address)) {
        const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key }))
        const lockedUntil = typeof Item?.lockedUntil === 'number' ? Item.lockedUntil : 0
        wait = Math.max(wait, lockedUntil - now)
      }
      return wait
    },

    async recordFailure(email: string, address: string | undefined): Promise<void> {
      const now = clock.now()
      for (const { key, rule } of subjects(email, address)) {
        const ttl = epochSeconds(new Date(now + rule.windowMs + rule.lockMs))
        let failures = 1
        try {
          const { Attributes } = await doc.send(
            new UpdateCommand({
              TableName: table,
              Key: key,
              UpdateExpression: 'ADD failures :one SET #ttl = :ttl',
              ConditionExpression: 'windowEndsAt > :now',
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: { ':one': 1, ':now': now, ':ttl': ttl },
              ReturnValues: 'ALL_NEW',
            }),
          )
          failures = Number(Attributes?.failures ?? 1)
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error
          await doc.send(
            new PutCommand({
              TableName: table,
              Item: {
                ...key,
                type: 'login-failures',
                failures: 1,
                windowEndsAt: now + rule.windowMs,
                ttl,
              },
            }),
          )
        }
        if (failures >= rule.maxFailures) {
          await doc.send(
            new UpdateCommand({
              TableName: table,
              Key: key,
              UpdateExpression: 'SET lockedUntil = :until',
              ExpressionAttributeValues: { ':until': now + rule.lockMs },
            }),
          )
        }
      }
    },

    /** A successful login clears the e-mail's counter (not the address's). */
    async recordSuccess(email: string): Promise<void> {
      const [emailSubject] = subjects(email, undefined)
      if (emailSubject)
        await doc.send(new DeleteCommand({ TableName: table, Key: emailSubject.key }))
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
