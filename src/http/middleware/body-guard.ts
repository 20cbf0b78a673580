import type { Context, Next } from 'hono'
import { createMiddleware } from 'hono/factory'
import { AppError, isAppError } from '../../errors.ts'
import type { AppEnv } from '../env.ts'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i
const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])

export interface BodyGuardOptions {
  maxBytes: number
  /**
   * Paths whose bodies may also be HTML forms (`application/x-www-form-urlencoded`): the
   * dashboard's pages post forms. Their text is cached for `c.req.text()`, bounded the same way.
   */
  acceptsForms?: (path: string) => boolean
}

/**
 * Bounds and checks request bodies before any handler sees them: a body over `maxBytes`
 * is refused (413) while it streams in, a body that is not JSON is refused (415), and
 * malformed JSON is refused (400). The parsed body stays in Hono's body cache, so the
 * validators that follow do not parse it twice.
 */
export function bodyGuard({ maxBytes, acceptsForms = () => false }: BodyGuardOptions) {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new TypeError('bodyGuard: maxBytes must be a positive integer')
  }
  // Requests without a body pass through without an async step of their own.
  return createMiddleware<AppEnv>((c, next) =>
    METHODS_WITH_BODY.has(c.req.method) ? guard(c, next) : next(),
  )

  async function guard(c: Context<AppEnv>, next: Next) {
    const declared = c.req.header('content-length')
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes)
    const body = c.req.raw.body
    if (!body || declared === '0') return next()

    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? ''
    if (mediaType.toLowerCase() === FORM_MEDIA_TYPE && acceptsForms(c.req.path)) {
      // Hono's body cache holds promises (its type says otherwise).
      Object.assign(c.req.bodyCache, { text: Promise.resolve(await readBounded(body, maxBytes)) })
      return next()
    }
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new AppError(
        'unsupported_media_type',
        'Request bodies must be JSON, sent with Content-Type: application/json.',
      )
    }
    const text = await readBounded(body, maxBytes).catch((error: unknown) => {
      if (isAppError(error)) throw error
      // The client closed the connection (or reset it) before sending the whole body: its
      // fault, not ours, and nobody is left to read the answer.
      throw new AppError('bad_request', 'The request body ended before it was complete.')
    })
    if (text.length === 0) return next()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new AppError('invalid_json', 'The request body is not valid JSON.')
    }
    // Hono's validators read the cached promise instead of the (consumed) stream.
    c.req.bodyCache.json = Promise.resolve(parsed)
    return next()
  }
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `Request bodies are limited to ${maxBytes} bytes.`, {
    extra: { maxBytes },
  })
}

async function readBounded(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks))
}
