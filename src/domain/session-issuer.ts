import type { Clock } from '../auth/clock.ts'
import { issueToken } from '../auth/jwt.ts'
import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config } from '../config.ts'
import { newId } from '../ids.ts'
import type { TokenRecord, TokenRepository } from '../storage/tokens.ts'

/**
 * Sessions for people who proved who they are some other way than a password at this
 * server's login: single sign-on and a device login approved from a session. Same kind of
 * token as a password login's: its power comes from the person's role at each request.
 */
export function createSessionIssuer(deps: {
  tokens: Pick<TokenRepository, 'put'>
  ring: SigningKeyRing
  config: Pick<Config, 'auth'>
  clock: Clock
}) {
  const { tokens, ring, config, clock } = deps
  return {
    /** `notAfter` caps the lifetime below the configured session lifetime. */
    async issue(tenantId: string, userId: string, { notAfter }: { notAfter?: Date } = {}) {
      const now = new Date(clock.now())
      const longest = now.getTime() + config.auth.sessionTtlSeconds * 1000
      const expiresAt = new Date(Math.min(longest, notAfter?.getTime() ?? longest))
      const record: TokenRecord = {
        tenantId,
        tokenId: newId('tok'),
        kind: 'session',
        userId,
        scopes: [],
        createdAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        createdBy: { type: 'user', id: userId },
      }
      const token = await issueToken(ring, {
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        kind: 'session',
        tokenId: record.tokenId,
        tenantId,
        subject: userId,
        expiresAt,
      })
      await tokens.put(record)
      return { token, expiresAt: record.expiresAt, tokenId: record.tokenId }
    },
  }
}

export type SessionIssuer = ReturnType<typeof createSessionIssuer>
