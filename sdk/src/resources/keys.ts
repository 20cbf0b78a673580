import type { OfflineMock } from '../core/offline-mock.ts'
import { PagedList } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import { isRetryable } from '../core/retry.ts'
import type { ApiRequest, RequestOptions, Transport } from '../core/transport.ts'
import type { ValueMemory } from '../core/value-cache.ts'
import {
  AuthenticationError,
  ConnectionError,
  KeyUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  ServerError,
} from '../errors.ts'
import type {
  CreateKeyParams,
  GetValueResult,
  Key,
  KeyValue,
  KeyVersionList,
  ListKeysParams,
  PageData,
  UpdateKeyParams,
} from '../types.ts'

export interface GetValueOptions extends RequestOptions {
  /** A past version; default the current one. */
  version?: number
}

/** `/v1/keys`: API keys and their values. A `ref` is a key id (`key_...`) or a key name. */
export class Keys {
  readonly #transport: Transport
  readonly #memory: ValueMemory
  readonly #mock: OfflineMock | null

  constructor(transport: Transport, memory: ValueMemory, mock: OfflineMock | null) {
    this.#transport = transport
    this.#memory = memory
    this.#mock = mock
  }

  /**
   * The value of a key, and which mode (mock or live) applied and why. In offline mock mode
   * no request is made. With `valueCache` or `staleIfError` set, see value-cache.ts.
   */
  async getValue(ref: string, options: GetValueOptions = {}): Promise<GetValueResult> {
    const { version, ...request } = options
    if (this.#mock) return this.#mock.getValue(ref, version)
    const fresh = this.#memory.fresh(ref, version)
    if (fresh) return fresh
    try {
      const result = await this.#transport.request<KeyValue>(
        { method: 'GET', path: path`/v1/keys/${ref}/value`, query: { version } },
        request,
      )
      this.#memory.remember(ref, version, result)
      return result
    } catch (error) {
      // Outages may fall back to the last value; an answer that the key is gone, forbidden or
      // deliberately made unusable (a disabled KEK) must not.
      const outage =
        error instanceof ConnectionError || (error instanceof ServerError && isRetryable(error))
      const stale = outage ? this.#memory.stale(ref, version) : undefined
      if (stale) return stale
      if (
        error instanceof AuthenticationError ||
        error instanceof PermissionDeniedError ||
        error instanceof NotFoundError ||
        error instanceof KeyUnavailableError
      ) {
        this.#memory.forget(ref)
      }
      throw error
    }
  }

  /** Every key (metadata only), page by page as you iterate: `for await (const key of ...)`. */
  list(params: ListKeysParams & { cursor?: string } = {}, options?: RequestOptions) {
    const { cursor, ...query } = params
    return new PagedList<Key>(
      (next) =>
        this.#transport.request<PageData<Key>>(
          { method: 'GET', path: '/v1/keys', query: { ...query, cursor: next } },
          options,
        ),
      cursor,
    )
  }

  async get(ref: string, options?: RequestOptions): Promise<Key> {
    return this.#transport.request({ method: 'GET', path: path`/v1/keys/${ref}` }, options)
  }

  async create(params: CreateKeyParams, options?: RequestOptions): Promise<Key> {
    return this.#transport.request({ method: 'POST', path: '/v1/keys', body: params }, options)
  }

  /** Stores a new version of the value; it becomes the current one. */
  async putValue(ref: string, value: string, options?: RequestOptions): Promise<Key> {
    return this.#changing(
      ref,
      { method: 'PUT', path: path`/v1/keys/${ref}/value`, body: { value } },
      options,
    )
  }

  /** Description, tags, provider and per-environment mock overrides (null clears one). */
  async update(ref: string, params: UpdateKeyParams, options?: RequestOptions): Promise<Key> {
    return this.#changing(
      ref,
      { method: 'PATCH', path: path`/v1/keys/${ref}`, body: params },
      options,
    )
  }

  /** Deletes the key and the ciphertext of every version. */
  async delete(ref: string, options?: RequestOptions): Promise<void> {
    await this.#changing(ref, { method: 'DELETE', path: path`/v1/keys/${ref}` }, options)
  }

  /** Every version (never values), oldest first. */
  async versions(ref: string, options?: RequestOptions): Promise<KeyVersionList> {
    return this.#transport.request({ method: 'GET', path: path`/v1/keys/${ref}/versions` }, options)
  }

  /** A write to a key: whatever this client remembers of its value goes, once it is done. */
  async #changing<T>(ref: string, request: ApiRequest, options?: RequestOptions): Promise<T> {
    try {
      return await this.#transport.request<T>(request, options)
    } finally {
      this.#memory.forget(ref)
    }
  }
}
