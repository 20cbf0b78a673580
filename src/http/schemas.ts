import { z } from '@hono/zod-openapi'

/** Schemas shared by many routes. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
  })
  .catchall(z.unknown())
  .openapi('Problem')

const problemContent = { 'application/problem+json': { schema: ProblemSchema } }

/**
 * Response entries for the errors a route can answer with, by status. Every route may also
 * answer 503 when storage or key management is out (see storage/unavailable.ts).
 */
export function problems(...listed: number[]) {
  const statuses = [...new Set([...listed, 503])]
  const descriptions: Record<number, string> = {
    400: 'Malformed request',
    401: 'Missing, invalid, expired or revoked credentials',
    403: 'Valid credentials lacking a scope or key access',
    404: 'Not found (also for other tenants’ objects)',
    409: 'Conflict',
    410: 'Gone (expired)',
    413: 'Body too large',
    415: 'Body is not JSON',
    422: 'Validation failed',
    429: 'Too many requests',
    503: 'A dependency (storage or key management) is unavailable',
  }
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: descriptions[status] ?? 'Error', content: problemContent },
    ]),
  )
}

/** Request and response content entries, and the bearer requirement, for route declarations. */
export const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } })
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: json(schema) },
})
export const bearer = [{ bearer: [] }]

// Typed for the document: a coerced number would be documented as nullable.
const Days = z.coerce
  .number()
  .int()
  .min(0)
  .max(3650)
  .openapi({ type: 'integer', minimum: 0, maximum: 3650 })
export const Flag = z.enum(['true', 'false'])
/** Listing filters on lifetime and use, shared by keys and tokens. */
export const LifetimeFilters = {
  expiringWithinDays: Days.optional().openapi({
    description: 'Only items that expire within this many days (already expired keys included)',
  }),
  unusedForDays: Days.optional().openapi({
    description: 'Only items not used for this many days (and older than that)',
  }),
  neverUsed: Flag.optional().openapi({ description: 'Only items never used' }),
}
