import { PagedList } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions, Transport } from '../core/transport.ts'
import type {
  CreatedToken,
  CreateTokenParams,
  ListTokensParams,
  PageData,
  Token,
} from '../types.ts'

/** `/v1/tokens`: access tokens for applications. */
export class Tokens {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /**
   * Mints a token with at most the caller's own scopes, keys and lifetime. `token` in the
   * result is the only time its string is shown. Retries are safe: the Idempotency-Key makes
   * the server return the first token instead of minting a second.
   */
  async create(params: CreateTokenParams, options?: RequestOptions): Promise<CreatedToken> {
    return this.#transport.request({ method: 'POST', path: '/v1/tokens', body: params }, options)
  }

  /**
   * The tokens the caller manages (never their strings), fetched page by page: every access
   * token of the organization for a session, the tokens below it for an access token.
   */
  list(params: ListTokensParams & { cursor?: string } = {}, options?: RequestOptions) {
    const { cursor, ...query } = params
    return new PagedList<Token>(
      (next) =>
        this.#transport.request<PageData<Token>>(
          { method: 'GET', path: '/v1/tokens', query: { ...query, cursor: next } },
          options,
        ),
      cursor,
    )
  }

  async get(id: string, options?: RequestOptions): Promise<Token> {
    return this.#transport.request({ method: 'GET', path: path`/v1/tokens/${id}` }, options)
  }

  /**
   * Revokes a token at once, and with it every token below it in the token tree (idempotent:
   * revoking twice is not an error).
   */
  async revoke(id: string, options?: RequestOptions): Promise<void> {
    await this.#transport.request({ method: 'DELETE', path: path`/v1/tokens/${id}` }, options)
  }
}
