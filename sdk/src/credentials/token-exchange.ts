import type { SubjectTokenSource } from './subject-tokens.ts'

/** What a client needs to work without a static token: a trust relationship and a source. */
export interface WorkloadIdentityOptions {
  /** The trust relationship's id (`trs_...`), sent as the exchange's `audience`. */
  relationship: string
  subjectToken: SubjectTokenSource
  /**
   * The `aud` the platform's token must carry, when the relationship's audience is not its id
   * (the default there). GitHub Actions' source asks for this audience.
   */
  subjectAudience?: string
  /** Refresh once this share of the Keystash token's lifetime has passed. Default 0.8. */
  refreshAt?: number
}

export interface ExchangeResult {
  access_token: string
  expires_in: number
}

/**
 * Keeps a Keystash token obtained by token exchange: exchanged on first use, shared by every
 * call, refreshed once `refreshAt` of its lifetime has passed (one exchange at a time, however
 * many calls wait), and, should a refresh fail while the old token is still valid, the old
 * token is used until it expires.
 */
export function createExchangedToken(
  options: WorkloadIdentityOptions,
  exchange: (body: Record<string, string>, signal?: AbortSignal) => Promise<ExchangeResult>,
  now: () => number = Date.now,
) {
  const refreshAt = options.refreshAt ?? 0.8
  if (!(refreshAt > 0 && refreshAt <= 1)) throw new TypeError('refreshAt must be in (0, 1]')
  let current: { token: string; refreshAtMs: number; expiresAtMs: number } | undefined
  let inFlight: Promise<string> | undefined

  async function renew(signal?: AbortSignal): Promise<string> {
    const subjectToken = await options.subjectToken({
      audience: options.subjectAudience ?? options.relationship,
      ...(signal ? { signal } : {}),
    })
    const started = now()
    const result = await exchange(
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subjectToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        audience: options.relationship,
      },
      signal,
    )
    const lifetimeMs = result.expires_in * 1000
    current = {
      token: result.access_token,
      refreshAtMs: started + lifetimeMs * refreshAt,
      expiresAtMs: started + lifetimeMs,
    }
    return result.access_token
  }

  return {
    async token(signal?: AbortSignal): Promise<string> {
      const at = now()
      if (current && at < current.refreshAtMs) return current.token
      inFlight ??= renew(signal).finally(() => {
        inFlight = undefined
      })
      const fallback = current && at < current.expiresAtMs ? current.token : undefined
      if (fallback === undefined) return inFlight
      return inFlight.catch(() => fallback)
    },
    /** Drops the token (after the server refused it), so the next call exchanges again. */
    invalidate(): void {
      current = undefined
    },
  }
}

export type ExchangedToken = ReturnType<typeof createExchangedToken>
