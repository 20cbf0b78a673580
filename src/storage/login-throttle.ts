import { createHash } from 'node:crypto'
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { Clock } from '../lib/clock.ts'
import { epochSeconds, itemKey } from './keys.ts'

export interface AttemptRule {
  /** Attempts allowed within one window; the next ones are refused until it ends. */
  max: number
  windowMs: number
}

export const LOGIN_RULES = {
  /** One account from one address: a person mistyping, or someone guessing. */
  pair: { max: 5, windowMs: 15 * 60_000 },
  /** One account from anywhere: guessing spread over many addresses. */
  account: { max: 100, windowMs: 15 * 60_000 },
  /**
   * One address over every account: slowed to this many attempts a minute, never locked for
   * longer, so that the people behind a noisy address can still log in.
   */
  address: { max: 30, windowMs: 60_000 },
} satisfies Record<string, AttemptRule>

export const SIGNUP_RULE: AttemptRule = { max: 10, windowMs: 60 * 60_000 }

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number }

/**
 * Attempt counters in DynamoDB, shared by every instance. An attempt is counted (one atomic
 * ADD per counter) before the password is looked at, so concurrent attempts cannot all slip
 * through a check made before any of them was counted. Counters live in fixed windows: the
 * item's key names the window, so starting a new one is the same single ADD.
 *
 * Subjects are hashed: the table should not collect addresses, nor the e-mail addresses of
 * people who have no account. Attempts count whether or not the e-mail exists, so a refusal
 * reveals nothing. Without a client address (no socket, as in `app.request()`), the
 * address-wide counters are skipped and the pair falls back to the account alone.
 */
export function createLoginThrottle({
  doc,
  table,
  clock,
  rules = LOGIN_RULES,
  signupRule = SIGNUP_RULE,
}: {
  doc: DynamoDBDocumentClient
  table: string
  clock: Clock
  rules?: typeof LOGIN_RULES
  signupRule?: AttemptRule
}) {
  const windowOf = (rule: AttemptRule, now: number) => Math.floor(now / rule.windowMs)
  const keyOf = (subject: string, rule: AttemptRule, now: number) =>
    itemKey.attempts(`${hash(subject)}#${windowOf(rule, now)}`)

  /** Counts one attempt against each counter and refuses if any is over its limit. */
  async function count(
    counters: ReadonlyArray<{ subject: string; rule: AttemptRule }>,
  ): Promise<ThrottleVerdict> {
    const now = clock.now()
    const counts = await Promise.all(
      counters.map(async ({ subject, rule }) => {
        const ends = (windowOf(rule, now) + 1) * rule.windowMs
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: table,
            Key: keyOf(subject, rule, now),
            UpdateExpression: 'ADD attempts :one SET #type = :type, #ttl = :ttl',
            ExpressionAttributeNames: { '#type': 'type', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':one': 1,
              ':type': 'attempts',
              ':ttl': epochSeconds(new Date(ends)),
            },
            ReturnValues: 'UPDATED_NEW',
          }),
        )
        return { over: Number(Attributes?.attempts ?? 1) > rule.max, ends }
      }),
    )
    const over = counts.filter((c) => c.over)
    if (over.length === 0) return { allowed: true }
    return { allowed: false, retryAfterMs: Math.max(...over.map((c) => c.ends - now)) }
  }

  const pairSubject = (email: string, address: string | undefined) =>
    `login-pair:${address ?? '-'}:${email}`

  return {
    /** Counts a login attempt for `email` from `address`, before anything is verified. */
    login(email: string, address: string | undefined): Promise<ThrottleVerdict> {
      return count([
        { subject: pairSubject(email, address), rule: rules.pair },
        { subject: `login-account:${email}`, rule: rules.account },
        ...(address ? [{ subject: `login-address:${address}`, rule: rules.address }] : []),
      ])
    },

    /** A successful login clears its pair's count: mistakes before it no longer weigh. */
    async succeeded(email: string, address: string | undefined): Promise<void> {
      await doc.send(
        new DeleteCommand({
          TableName: table,
          Key: keyOf(pairSubject(email, address), rules.pair, clock.now()),
        }),
      )
    },

    /** Counts a sign-up from `address`; unlimited without one. */
    signup(address: string | undefined): Promise<ThrottleVerdict> {
      return address
        ? count([{ subject: `signup-address:${address}`, rule: signupRule }])
        : Promise.resolve({ allowed: true })
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>

function hash(subject: string): string {
  return createHash('sha256').update(subject).digest('hex')
}
