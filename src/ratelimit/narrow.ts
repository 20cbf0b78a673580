import { AppError } from '../errors.ts'
import type { RatePolicy } from './token-bucket.ts'

/**
 * The rate limit of a token being minted: what was asked for, never above the minter's own
 * limit (its token's, or the server's default for a token that has none); when nothing was
 * asked for, the minter's own token limit is inherited. Like scopes, a limit only narrows
 * down the token tree.
 */
export function narrowRateLimit(
  minter: RatePolicy | undefined,
  serverDefault: RatePolicy | undefined,
  requested: RatePolicy | undefined,
): RatePolicy | undefined {
  const ceiling = minter ?? serverDefault
  if (requested === undefined) return minter
  if (ceiling && (requested.rate > ceiling.rate || requested.burst > ceiling.burst)) {
    throw new AppError(
      'scope_escalation',
      `A token cannot grant more than it holds: the rate limit may be at most ${ceiling.rate} requests per second with bursts of ${ceiling.burst}`,
      { extra: { exceeded: ['rateLimit'], ceiling: { ...ceiling } } },
    )
  }
  return { rate: requested.rate, burst: requested.burst }
}
