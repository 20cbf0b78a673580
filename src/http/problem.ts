import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { AppError, isAppError } from '../errors.ts'
import type { AppEnv } from './env.ts'

/** RFC 9457 problem details, as every error leaves the server. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  requestId: string
  /** The W3C trace id of the request, to find it in traces and logs. */
  traceId?: string
  [extension: string]: unknown
}

export const PROBLEM_TYPE_BASE = 'https://keystash.dev/problems/'
export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export function toProblem(error: AppError, requestId: string, traceId?: string): Problem {
  return {
    ...error.extra,
    type: `${PROBLEM_TYPE_BASE}${error.code.replaceAll('_', '-')}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
    ...(traceId ? { traceId } : {}),
  }
}

export function problemResponse(c: Context<AppEnv>, error: AppError): Response {
  const requestId = c.get('requestId') ?? 'unknown'
  const headers = new Headers({
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
    'x-request-id': requestId,
  })
  for (const [name, value] of Object.entries(error.headers)) headers.set(name, value)
  return new Response(JSON.stringify(toProblem(error, requestId, c.get('trace')?.traceId)), {
    status: error.status,
    headers,
  })
}

/**
 * Maps whatever a handler threw to an AppError. Hono's own exceptions (malformed JSON from the
 * validator, body limits) become their codes; anything unknown becomes `internal`, whose
 * detail is generic so that nothing about the failure (or a secret inside it) leaks.
 */
export function asAppError(error: unknown): AppError {
  if (isAppError(error)) return error
  if (error instanceof HTTPException) {
    if (error.status === 400 && /json/i.test(error.message)) {
      return new AppError('invalid_json', 'The request body is not valid JSON.')
    }
    if (error.status === 413) return new AppError('payload_too_large')
    if (error.status === 401) return new AppError('unauthorized')
    if (error.status === 404) return new AppError('not_found')
    if (error.status === 400) return new AppError('bad_request', 'The request could not be read.')
  }
  return new AppError(
    'internal',
    'An unexpected error occurred. Quote the requestId when reporting it.',
  )
}
