import type { OutboundFetch } from './outbound-fetch.ts'

/**
 * Until the outbound-request module is wired in: fetch with the timeout and no redirects, but
 * without its address checks.
 */
export const directFetch: OutboundFetch = (input, init = {}) => {
  const { timeoutMs = 10_000, maxBytes: _maxBytes, ...rest } = init
  return fetch(input, { ...rest, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
}
