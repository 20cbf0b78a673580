import { createRoute, z } from '@hono/zod-openapi'
import { AUDIT_ACTIONS } from '../../audit/events.ts'
import type { AuditLog } from '../../audit/service.ts'
import type { Authenticator } from '../../auth/authenticate.ts'
import { clientOf } from '../client.ts'
import type { RequestLogger } from '../env.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, problems } from '../schemas.ts'

const nullable = z.string().nullable()
const AuditEventSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    time: z.iso.datetime(),
    action: z.enum(AUDIT_ACTIONS),
    actor: z.object({
      type: z.enum(['user', 'token', 'system', 'anonymous']),
      id: nullable,
      name: nullable,
      tokenId: nullable,
    }),
    target: z.object({ type: z.string(), id: z.string(), name: nullable }).nullable(),
    outcome: z.object({ result: z.enum(['success', 'denied', 'error']), code: nullable }),
    requestId: nullable,
    traceId: nullable.optional().openapi({
      description: 'W3C trace id of the request (absent on events recorded before it was kept)',
    }),
    client: z.object({ address: nullable, userAgent: nullable }),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    chain: z.object({ id: z.string(), seq: z.number().int(), prev: z.string() }),
    hash: z.string().openapi({ description: 'SHA-256 (hex) of the canonical event; see docs' }),
  })
  .openapi('AuditEvent')

const HeadSchema = z.object({
  chainId: z.string(),
  seq: z.number().int(),
  hash: z.string(),
  lastTime: z.iso.datetime(),
  openedAt: z.iso.datetime(),
})

const ProblemKind = z.enum(['modified', 'deleted', 'inserted', 'reordered'])
const VerifyProblemSchema = z.object({
  kind: ProblemKind,
  chainId: z.string(),
  seq: z.number().int().nullable(),
  eventId: nullable,
  detail: z.string(),
})
const VerifyReportSchema = z
  .object({
    ok: z.boolean(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    checked: z.number().int(),
    chains: z.array(
      z.object({
        chainId: z.string(),
        events: z.number().int(),
        firstSeq: z.number().int(),
        lastSeq: z.number().int(),
        unanchored: z.number().int(),
      }),
    ),
    problems: z.array(VerifyProblemSchema),
    firstProblem: VerifyProblemSchema.nullable(),
    heads: z.array(HeadSchema).openapi({
      description: 'Current chain heads: keep them to check later that the log was not rewritten',
    }),
  })
  .openapi('AuditVerifyReport')

const Range = z.object({
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'Not after `to` (400 otherwise); default: the retention period' }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Default: now' }),
})
const ActionFilter = z
  .string()
  .max(64)
  .regex(/^[a-z]+(\.[a-z_]+)*(\.\*)?$/, 'an action name, or a prefix ending in .*')
  .optional()
const ListQuery = Range.extend({
  action: ActionFilter,
  actor: z.string().max(200).optional().openapi({ description: 'Actor id (user or token)' }),
  targetType: z
    .enum([
      'org',
      'user',
      'token',
      'key',
      'encryption',
      'job',
      'audit',
      'webhook',
      'trust',
      'invitation',
    ])
    .optional(),
  targetId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(2048).optional(),
})

const tags = ['audit']

const list = createRoute({
  method: 'get',
  path: '/v1/audit',
  tags,
  summary: 'List audit events, newest first (filter by time, action, actor, target)',
  security: bearer,
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'A page of events',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(AuditEventSchema), nextCursor: nullable }),
        },
      },
    },
    ...problems(400, 401, 403, 422, 503),
  },
})

const exportRoute = createRoute({
  method: 'get',
  path: '/v1/audit/export',
  tags,
  summary: 'Export audit events as NDJSON, oldest first (one AuditEvent per line)',
  security: bearer,
  request: { query: Range.extend({ action: ActionFilter }) },
  responses: {
    200: {
      description: 'Newline-delimited JSON, streamed',
      content: { 'application/x-ndjson': { schema: z.string() } },
    },
    ...problems(400, 401, 403, 422, 503),
  },
})

const verify = createRoute({
  method: 'get',
  path: '/v1/audit/verify',
  tags,
  summary: 'Recompute the hash chains over a time range and report tampering',
  security: bearer,
  request: { query: Range },
  responses: {
    200: {
      description: 'The verification report',
      content: { 'application/json': { schema: VerifyReportSchema } },
    },
    ...problems(400, 401, 403, 422, 503),
  },
})

const ndjsonLine = (event: unknown) => `${JSON.stringify(event)}\n`

/**
 * An export's body, one event per line. Pull-based: the next page is read only when the client
 * has taken the previous one, so memory stays at about one page. (Hono's stream() helper would
 * end a failed export as if it were complete; erroring the body cuts the response so it cannot
 * pass for whole.)
 */
export function ndjsonStream(
  pages: AsyncIterable<unknown[]>,
  log: Pick<RequestLogger, 'error'>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const iterator = pages[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next()
        if (next.done) return controller.close()
        controller.enqueue(encoder.encode(next.value.map(ndjsonLine).join('')))
      } catch (error) {
        log.error({ error: (error as Error)?.name }, 'audit export failed midway')
        controller.error(new Error('audit export failed'))
      }
    },
    async cancel() {
      await iterator.return?.()
    },
  })
}

const dates = ({ from, to }: { from?: string | undefined; to?: string | undefined }) => ({
  ...(from ? { from: new Date(from) } : {}),
  ...(to ? { to: new Date(to) } : {}),
})

export function auditRoutes({
  auditLog,
  authenticator,
}: {
  auditLog: AuditLog
  authenticator: Pick<Authenticator, 'authenticate'>
}) {
  const router = createRouter()
  router.use('/v1/audit', requireAuth({ authenticator }))
  router.use('/v1/audit/*', requireAuth({ authenticator }))
  return router
    .openapi(list, async (c) => {
      const { actor, from, to, ...query } = c.req.valid('query')
      const page = await auditLog.list(c.get('principal'), {
        ...query,
        ...dates({ from, to }),
        ...(actor ? { actorId: actor } : {}),
      })
      return c.json(page, 200)
    })
    .openapi(exportRoute, async (c) => {
      const query = c.req.valid('query')
      const { address, userAgent } = clientOf(c)
      const pages = await auditLog.exportEvents(
        c.get('principal'),
        { ...dates(query), ...(query.action ? { action: query.action } : {}) },
        {
          requestId: c.get('requestId'),
          traceId: c.get('trace')?.traceId,
          client: { address, userAgent },
        },
      )
      const body = ndjsonStream(pages, c.get('log'))
      // The typed-response helpers know JSON and text only; an NDJSON stream is a plain body.
      return c.body(body, 200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
      }) as never
    })
    .openapi(verify, async (c) => {
      const report = await auditLog.verify(c.get('principal'), dates(c.req.valid('query')))
      return c.json(report, 200)
    })
}
