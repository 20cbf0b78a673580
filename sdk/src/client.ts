import { isTruthy, readEnv } from './core/env.ts'
import { createOfflineMock, type MockOptions, type OfflineMock } from './core/offline-mock.ts'
import { type BackoffOptions, DEFAULT_BACKOFF } from './core/retry.ts'
import {
  createTransport,
  type Fetch,
  type RequestOptions,
  type Transport,
} from './core/transport.ts'
import {
  createValueMemory,
  type StaleIfErrorOptions,
  type ValueCacheOptions,
} from './core/value-cache.ts'
import { fromGitHubActions, fromTokenFile, inGitHubActions } from './credentials/subject-tokens.ts'
import {
  createExchangedToken,
  type ExchangeResult,
  type WorkloadIdentityOptions,
} from './credentials/token-exchange.ts'
import { KeystashError } from './errors.ts'
import { Encryption } from './resources/encryption.ts'
import { Keys } from './resources/keys.ts'
import { Org } from './resources/org.ts'
import { Tokens } from './resources/tokens.ts'
import { Webhooks } from './resources/webhooks.ts'
import type { Me } from './types.ts'

export interface ClientOptions {
  /** The server, e.g. `https://keystash.example.com`. Default: `KEYSTASH_URL`. */
  baseUrl?: string
  /** An access token (or a session token). Default: `KEYSTASH_TOKEN`. */
  token?: string
  /**
   * No static token: exchange the workload's OIDC token (Kubernetes, GitHub Actions, GitLab,
   * ...) for short-lived Keystash tokens through a trust relationship. Default, when no token
   * is set: `KEYSTASH_TRUST_RELATIONSHIP` with `KEYSTASH_OIDC_TOKEN_FILE`, or with GitHub
   * Actions' ID-token endpoint when the job may request one.
   */
  workloadIdentity?: WorkloadIdentityOptions
  /** Default: the global `fetch`. Pass one to add tracing, proxies or test doubles. */
  fetch?: Fetch
  /** Per attempt, in milliseconds. Default 60,000. */
  timeoutMs?: number
  /** Retries after the first attempt (see core/retry.ts for which failures). Default 2. */
  maxRetries?: number
  /** Delays between retries when the server names none. Default 500 ms doubling to 8 s. */
  backoff?: Partial<BackoffOptions>
  /**
   * Offline mock mode: `keys.getValue` returns fake values with no network at all. `true`, or
   * options to pin values. Default: on when `KEYSTASH_MOCK` is `1`/`true`.
   */
  mock?: boolean | MockOptions
  /** Opt-in: serve values from memory for `ttlMs` (see core/value-cache.ts). Default off. */
  valueCache?: ValueCacheOptions
  /** Opt-in: serve the last value during an outage, up to `maxStaleMs` old. Default off. */
  staleIfError?: StaleIfErrorOptions
}

const DEFAULT_TIMEOUT_MS = 60_000
const DEFAULT_MAX_RETRIES = 2

/**
 * The Keystash client. It needs only `fetch` (Node 20+, Bun, Deno, browsers, edge runtimes)
 * and holds no plaintext unless `valueCache` or `staleIfError` asks it to.
 *
 * ```ts
 * const keystash = new Keystash() // KEYSTASH_URL, KEYSTASH_TOKEN
 * const { value } = await keystash.keys.getValue('openai')
 * ```
 */
export class Keystash {
  readonly keys: Keys
  readonly tokens: Tokens
  readonly org: Org
  readonly encryption: Encryption
  readonly webhooks: Webhooks
  /** In offline mock mode: pin values with `mock.set(ref, value)`. Otherwise null. */
  readonly mock: OfflineMock | null
  readonly #transport: Transport

  constructor(options: ClientOptions = {}) {
    const mockOption = options.mock ?? isTruthy(readEnv('KEYSTASH_MOCK'))
    this.mock = mockOption
      ? createOfflineMock(typeof mockOption === 'object' ? mockOption : {})
      : null
    const baseUrl = options.baseUrl ?? readEnv('KEYSTASH_URL')
    const token = options.token ?? readEnv('KEYSTASH_TOKEN')
    const workloadIdentity =
      options.workloadIdentity ?? (token === undefined ? workloadIdentityFromEnv() : undefined)
    if (!this.mock && (!baseUrl || (!token && !workloadIdentity))) {
      throw new KeystashError(
        `No ${baseUrl ? 'token' : 'server URL'}: pass ${baseUrl ? 'token' : 'baseUrl'} or set ${baseUrl ? 'KEYSTASH_TOKEN' : 'KEYSTASH_URL'} (or use mock: true to work offline).`,
        { code: 'missing_configuration' },
      )
    }
    if (baseUrl) new URL(baseUrl) // a malformed URL fails here, not on the first call
    if (!options.fetch && typeof globalThis.fetch !== 'function') {
      throw new KeystashError('This runtime has no fetch: pass one as the `fetch` option.', {
        code: 'missing_configuration',
      })
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES
    if (!(timeoutMs > 0)) throw new TypeError('timeoutMs must be a positive number')
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new TypeError('maxRetries must be a non-negative integer')
    }

    const transportConfig = {
      baseUrl,
      token,
      fetch: options.fetch ?? globalFetch,
      timeoutMs,
      maxRetries,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    }
    this.#transport = createTransport(
      workloadIdentity
        ? {
            ...transportConfig,
            credentials: createExchangedToken(workloadIdentity, (body, signal) =>
              this.#transport.request<ExchangeResult>(
                { method: 'POST', path: '/v1/auth/token', body, anonymous: true },
                signal ? { signal } : {},
              ),
            ),
          }
        : transportConfig,
    )
    const memory = createValueMemory({
      valueCache: options.valueCache,
      staleIfError: options.staleIfError,
    })
    this.keys = new Keys(this.#transport, memory, this.mock)
    this.tokens = new Tokens(this.#transport)
    this.org = new Org(this.#transport)
    this.encryption = new Encryption(this.#transport)
    this.webhooks = new Webhooks(this.#transport)
  }

  /** Who the token belongs to: kind, tenant, scopes, key restrictions, environment, expiry. */
  async me(options?: RequestOptions): Promise<Me> {
    return this.#transport.request({ method: 'GET', path: '/v1/me' }, options)
  }
}

/** Workload identity as the environment describes it, if it does. */
function workloadIdentityFromEnv(): WorkloadIdentityOptions | undefined {
  const relationship = readEnv('KEYSTASH_TRUST_RELATIONSHIP')
  if (relationship === undefined) return undefined
  const file = readEnv('KEYSTASH_OIDC_TOKEN_FILE')
  if (file !== undefined) return { relationship, subjectToken: fromTokenFile(file) }
  if (inGitHubActions()) return { relationship, subjectToken: fromGitHubActions() }
  return undefined
}

// Looked up per call, not captured: tests and polyfills may replace the global later, and some
// runtimes refuse a `fetch` called with another `this`.
const globalFetch: Fetch = (input, init) => globalThis.fetch(input, init)
