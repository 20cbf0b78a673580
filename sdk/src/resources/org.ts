import type { RequestOptions, Transport } from '../core/transport.ts'
import type { Organization, OrgUpdate } from '../types.ts'

/** `/v1/org`: the caller's organization (tenant). */
export class Org {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  async get(options?: RequestOptions): Promise<Organization> {
    return this.#transport.request({ method: 'GET', path: '/v1/org' }, options)
  }

  /** Changes the organization's mock-mode defaults per environment. */
  async update(params: OrgUpdate, options?: RequestOptions): Promise<Organization> {
    return this.#transport.request({ method: 'PATCH', path: '/v1/org', body: params }, options)
  }
}
