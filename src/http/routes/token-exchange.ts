import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { outcomeOf, SUCCESS } from '../../audit/events.ts'
import type { ExchangeTrace, TokenExchange } from '../../domain/trust/exchange.ts'
import { asExchangeError, exchangeError } from '../../domain/trust/exchange-errors.ts'
import { AppError, isAppError } from '../../errors.ts'
import { auditInput, type RequestAudit } from '../audit.ts'
import { clientOf } from '../client.ts'
import type { AppEnv } from '../env.ts'
import { createRouter } from '../router.ts'
import { problems } from '../schemas.ts'

export const TOKEN_EXCHANGE_PATH = '/v1/auth/token'
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

const ExchangeRequest = z
  .object({
    grant_type: z.string().max(200),
    subject_token: z.string().min(1).max(16_384),
    subject_token_type: z.string().max(200),
    audience: z.string().max(200).optional().openapi({ description: 'The trust relationship id' }),
    resource: z.string().max(200).optional().openapi({ description: 'Same as audience' }),
    requested_token_type: z.string().max(200).optional(),
    scope: z.string().max(500).optional(),
  })
  .openapi('TokenExchangeRequest')

const ExchangeResponse = z
  .object({
    access_token: z.string(),
    issued_token_type: z.literal(ACCESS_TOKEN_TYPE),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
  })
  .openapi('TokenExchangeResponse')

const exchangeRoute = createRoute({
  method: 'post',
  path: TOKEN_EXCHANGE_PATH,
  tags: ['workload identity'],
  summary: 'Exchange a workload’s OIDC token for an access token (RFC 8693)',
  description:
    'Errors are problem documents that also carry OAuth’s `error` and `error_description`.',
  request: {
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': { schema: ExchangeRequest },
        'application/json': { schema: ExchangeRequest },
      },
    },
  },
  responses: {
    200: {
      description: 'Exchanged',
      content: { 'application/json': { schema: ExchangeResponse } },
    },
    ...problems(400, 413, 415, 422, 429, 502, 503),
  },
})

/**
 * `POST /v1/auth/token`: RFC 8693 token exchange, JSON or form body. Every exchange, granted
 * or refused, is audited with the workload's `iss`/`sub` and the reason code; the subject
 * token itself goes nowhere.
 */
export function tokenExchangeRoutes({
  exchangeToken,
  audit,
}: {
  exchangeToken: TokenExchange
  audit: RequestAudit
}) {
  const router = createRouter()
  // Documented like every route, but parsed by the handler rather than by a validator: both
  // body types, and failures that carry OAuth's members and are audited like any refusal.
  router.openAPIRegistry.registerPath(exchangeRoute)
  router.post(exchangeRoute.path, async (c) => {
    const trace: ExchangeTrace = {}
    try {
      const body = await readBody(c)
      const result = await exchangeToken(
        {
          subjectToken: body.subject_token,
          relationshipId: relationshipOf(body),
          ...(body.scope !== undefined ? { scope: body.scope } : {}),
        },
        trace,
      )
      await record(c, audit, trace, SUCCESS, result.record.tokenId)
      return c.json(
        {
          access_token: result.token,
          issued_token_type: ACCESS_TOKEN_TYPE,
          token_type: 'Bearer' as const,
          expires_in: result.expiresInSeconds,
        },
        200,
        { 'cache-control': 'no-store', pragma: 'no-cache' },
      )
    } catch (error) {
      const failure = isAppError(error) ? asExchangeError(error) : error
      await record(c, audit, trace, outcomeOf(failure)).catch(() => {})
      throw failure
    }
  })
  return router
}

async function readBody(c: Context<AppEnv>) {
  const type = c.req.header('content-type') ?? ''
  let raw: unknown
  if (type.startsWith('application/x-www-form-urlencoded')) {
    raw = Object.fromEntries(new URLSearchParams(await c.req.text()))
  } else if (type.startsWith('application/json')) {
    raw = await c.req.json().catch(() => {
      throw exchangeError('token_exchange_invalid', 'The body is not valid JSON.')
    })
  } else {
    throw new AppError(
      'unsupported_media_type',
      'Send application/x-www-form-urlencoded or application/json.',
      { extra: { error: 'invalid_request', error_description: 'unsupported content type' } },
    )
  }
  const parsed = ExchangeRequest.safeParse(raw)
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)')
    throw exchangeError(
      'token_exchange_invalid',
      `Missing or invalid parameters: ${[...new Set(fields)].join(', ')}.`,
    )
  }
  const body = parsed.data
  if (body.grant_type !== TOKEN_EXCHANGE_GRANT)
    throw exchangeError('token_exchange_unsupported', `grant_type must be ${TOKEN_EXCHANGE_GRANT}.`)
  if (body.subject_token_type !== JWT_TOKEN_TYPE && body.subject_token_type !== ID_TOKEN_TYPE)
    throw exchangeError(
      'token_exchange_unsupported',
      `subject_token_type must be ${JWT_TOKEN_TYPE}.`,
    )
  if (body.requested_token_type !== undefined && body.requested_token_type !== ACCESS_TOKEN_TYPE)
    throw exchangeError(
      'token_exchange_unsupported',
      `requested_token_type may only be ${ACCESS_TOKEN_TYPE}.`,
    )
  return body
}

/** The relationship is named by `audience`, or `resource`; both must agree when both are sent. */
function relationshipOf(body: z.infer<typeof ExchangeRequest>): string {
  const named = body.audience ?? body.resource
  if (named === undefined)
    throw exchangeError(
      'token_exchange_invalid',
      'Name the trust relationship in the audience parameter.',
    )
  if (body.audience !== undefined && body.resource !== undefined && body.audience !== body.resource)
    throw exchangeError(
      'token_exchange_invalid',
      'audience and resource name different relationships.',
    )
  return named
}

function record(
  c: Context<AppEnv>,
  audit: RequestAudit,
  trace: ExchangeTrace,
  outcome: ReturnType<typeof outcomeOf>,
  issuedTokenId?: string,
) {
  if (audit.mode === 'off') return Promise.resolve()
  return audit.record(
    auditInput(
      { principal: undefined, requestId: c.get('requestId'), client: clientOf(c) },
      {
        action: 'token.exchange',
        ...(trace.tenantId ? { tenantId: trace.tenantId } : {}),
        actor: issuedTokenId
          ? { type: 'token', id: issuedTokenId, name: trace.subject ?? null }
          : { type: 'anonymous', id: null, name: trace.subject ?? null },
        target: trace.relationship
          ? { type: 'trust', id: trace.relationship.relationshipId, name: trace.relationship.name }
          : null,
        details: {
          issuer: trace.issuer ?? null,
          subject: trace.subject ?? null,
          verified: trace.verified ?? false,
        },
      },
      outcome,
    ),
  )
}
