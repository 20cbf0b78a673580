/**
 * How deliveries reach receivers: a fetch-compatible function from the outbound-request
 * module (DESIGN.md section 11), which refuses non-public addresses at connect time, never
 * follows redirects, and enforces the timeout and the response size cap it is given.
 */
export type OutboundFetch = (
  input: string | URL,
  init?: RequestInit & { timeoutMs?: number; maxBytes?: number },
) => Promise<Response>
