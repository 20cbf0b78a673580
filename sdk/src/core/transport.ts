import { ConnectionError, errorClassFor, KeystashError, TimeoutError } from '../errors.ts'
import type { Problem } from '../types.ts'
import { abortError, type BackoffOptions, parseRetryAfter, retryDelay, sleep } from './retry.ts'

export type Fetch = (input: string, init: RequestInit) => Promise<Response>

/** Options every method accepts as its last argument. */
export interface RequestOptions {
  /** Cancels the call, including any wait between retries: it rejects with an AbortError. */
  signal?: AbortSignal
  /** Per attempt, in milliseconds. Default: the client's `timeoutMs`. */
  timeoutMs?: number
  /** Default: the client's `maxRetries`. */
  maxRetries?: number
  /** For POSTs; by default one random UUID per call, the same for all its retries. */
  idempotencyKey?: string
  headers?: Record<string, string>
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string | number | undefined> | undefined
  body?: unknown
  /** Sent without credentials (the token exchange itself). */
  anonymous?: boolean
}

/** A token obtained on demand (workload identity), instead of a static one. */
export interface TokenProvider {
  token(signal?: AbortSignal): Promise<string>
  /** The server refused the token: the next `token()` must obtain a new one. */
  invalidate(): void
}

export interface TransportConfig {
  /** Undefined only in offline mock mode, where every call but `keys.getValue` then fails. */
  baseUrl: string | undefined
  token: string | undefined
  credentials?: TokenProvider
  fetch: Fetch
  timeoutMs: number
  maxRetries: number
  backoff: BackoffOptions
}

export type Transport = ReturnType<typeof createTransport>

export function createTransport(config: TransportConfig) {
  const base = config.baseUrl?.replace(/\/+$/, '')

  function urlOf({ path, query }: ApiRequest): string {
    if (base === undefined) {
      throw new KeystashError(
        'No server URL: offline mock mode serves keys.getValue only. Pass baseUrl or set KEYSTASH_URL for the rest.',
        { code: 'missing_configuration' },
      )
    }
    const params = new URLSearchParams()
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(name, String(value))
    }
    const search = params.toString()
    return `${base}${path}${search ? `?${search}` : ''}`
  }

  function headersOf(
    request: ApiRequest,
    options: RequestOptions,
    token: string | undefined,
    idempotencyKey?: string,
  ) {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (token) headers.authorization = `Bearer ${token}`
    if (request.body !== undefined) headers['content-type'] = 'application/json'
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey
    return { ...headers, ...options.headers }
  }

  /** One attempt: the response body is read within the same timeout as the headers. */
  async function attempt<T>(url: string, init: RequestInit, options: RequestOptions) {
    const { signal } = options
    if (signal?.aborted) throw abortError(signal)
    const controller = new AbortController()
    let timedOut = false
    const timeoutMs = options.timeoutMs ?? config.timeoutMs
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    const onAbort = () => controller.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const failed = (cause: unknown) => {
      if (signal?.aborted) return abortError(signal)
      if (timedOut) {
        return new TimeoutError(`No response within ${timeoutMs} ms.`, { code: 'timeout', cause })
      }
      return new ConnectionError('The Keystash server could not be reached.', {
        code: 'connection_error',
        cause,
      })
    }
    try {
      let response: Response
      let text: string
      try {
        response = await config.fetch(url, { ...init, signal: controller.signal })
        text = await response.text()
      } catch (cause) {
        throw failed(cause)
      }
      if (!response.ok) throw errorFromResponse(response, text)
      return parseBody<T>(response, text)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Sends a request, retrying as retry.ts describes. */
  async function request<T>(request: ApiRequest, options: RequestOptions = {}): Promise<T> {
    const url = urlOf(request)
    const maxRetries = options.maxRetries ?? config.maxRetries
    const idempotencyKey =
      request.method === 'POST' ? (options.idempotencyKey ?? newIdempotencyKey()) : undefined
    const credentials = request.anonymous ? undefined : config.credentials
    let renewed = false
    for (let n = 0; ; n++) {
      // Asked at every attempt: an exchanged token may have been refreshed in between.
      const token = request.anonymous
        ? undefined
        : credentials
          ? await credentials.token(options.signal)
          : config.token
      const init: RequestInit = {
        method: request.method,
        headers: headersOf(request, options, token, idempotencyKey),
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      }
      try {
        return await attempt<T>(url, init, options)
      } catch (error) {
        // An exchanged token the server no longer accepts is exchanged anew, once.
        if (credentials && !renewed && (error as KeystashError).status === 401) {
          renewed = true
          credentials.invalidate()
          n--
          continue
        }
        const delay = n < maxRetries ? retryDelay(error, n, config.backoff) : undefined
        if (delay === undefined) throw error
        await sleep(delay, options.signal)
      }
    }
  }

  return { request }
}

/** A random UUID; `randomUUID` is missing from browsers' insecure (http:) contexts. */
function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function parseBody<T>(response: Response, text: string): T {
  if (response.status === 204 || text === '') return undefined as T
  try {
    return JSON.parse(text) as T
  } catch {
    throw new KeystashError(`${response.status}: the response is not JSON.`, {
      status: response.status,
      code: 'invalid_response',
      headers: response.headers,
    })
  }
}

function errorFromResponse(response: Response, text: string): KeystashError {
  let problem: Problem | undefined
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) problem = parsed as Problem
  } catch {
    // Not a problem document (a proxy's HTML page, say): its text stays out of the message.
  }
  const code = typeof problem?.code === 'string' ? problem.code : undefined
  const requestId =
    (typeof problem?.requestId === 'string' ? problem.requestId : undefined) ??
    response.headers.get('x-request-id') ??
    undefined
  const detail =
    typeof problem?.detail === 'string' ? problem.detail : response.statusText || 'Request failed'
  const ErrorClass = errorClassFor(response.status, code)
  const retryAfterMs = parseRetryAfter(response.headers)
  return new ErrorClass(`${response.status}${code ? ` ${code}` : ''}: ${detail}`, {
    status: response.status,
    ...(code !== undefined ? { code } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(problem ? { problem } : {}),
    headers: response.headers,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  })
}
