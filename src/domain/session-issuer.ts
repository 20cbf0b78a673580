import type { SigningKeyRing } from '../auth/signing-keys.ts'
import type { Config } from '../config.ts'
import type { Clock } from '../lib/clock.ts'
import type { TokenRepository } from '../storage/tokens.ts'
import { createSessionIssuer as sessionMaker } from './sessions.ts'

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
  const newSession = sessionMaker(deps)
  return {
    /**
     * `notAfter` caps the lifetime below the configured session lifetime; `mfaAt` carries the
     * time of a second factor the sign-in used.
     */
    async issue(
      tenantId: string,
      userId: string,
      options: { notAfter?: Date | undefined; mfaAt?: string | undefined } = {},
    ) {
      const { record, session } = await newSession(tenantId, userId, options)
      await deps.tokens.put(record)
      return { ...session, tokenId: record.tokenId }
    },
  }
}

export type SessionIssuer = ReturnType<typeof createSessionIssuer>
