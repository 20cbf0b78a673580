import { issueToken } from '../auth/jwt.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config } from '../config.ts'
import { newId } from '../ids.ts'
import type { Clock } from '../lib/clock.ts'
import type { TokenRecord } from '../storage/token-record.ts'

export interface Session {
  token: string
  expiresAt: string
}

/**
 * A person's session in one organization: its record (to store) and its JWT. It carries no
 * scopes: its power is its person's role, read at each request (auth/roles.ts).
 */
export function createSessionIssuer({
  ring,
  config,
  clock,
}: {
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
}) {
  /**
   * `mfaAt`: when the person gave their second factor for this sign-in. `notAfter` caps the
   * lifetime below the configured session lifetime (a device login ends with its approver's).
   */
  return async function newSession(
    tenantId: string,
    userId: string,
    { mfaAt, notAfter }: { mfaAt?: string | undefined; notAfter?: Date | undefined } = {},
  ) {
    const now = new Date(clock.now())
    const longest = now.getTime() + config.auth.sessionTtlSeconds * 1000
    const record: TokenRecord = {
      tenantId,
      tokenId: newId('tok'),
      kind: 'session',
      userId,
      scopes: [],
      createdAt: now.toISOString(),
      expiresAt: new Date(Math.min(longest, notAfter?.getTime() ?? longest)).toISOString(),
      createdBy: { type: 'user', id: userId },
      ...(mfaAt ? { mfaAt } : {}),
    }
    const token = await issueToken(ring, {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      kind: 'session',
      tokenId: record.tokenId,
      tenantId,
      subject: userId,
      expiresAt: new Date(record.expiresAt),
    })
    return { record, session: { token, expiresAt: record.expiresAt } satisfies Session }
  }
}
