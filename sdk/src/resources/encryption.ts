import { path } from '../core/path.ts'
import type { RequestOptions, Transport } from '../core/transport.ts'
import type { OrgEncryption, ReEncryptionJob, SetOrgEncryption } from '../types.ts'

/** `/v1/org/encryption`: which key-encryption key protects the organization's values. */
export class Encryption {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  async get(options?: RequestOptions): Promise<OrgEncryption> {
    return this.#transport.request({ method: 'GET', path: '/v1/org/encryption' }, options)
  }

  /**
   * Switches to another KEK (the organization's own AWS KMS key, a raw key, or back to the
   * platform key). Existing values are re-wrapped by a background job: see `job(id)`.
   */
  async set(params: SetOrgEncryption, options?: RequestOptions): Promise<OrgEncryption> {
    return this.#transport.request(
      { method: 'PUT', path: '/v1/org/encryption', body: params },
      options,
    )
  }

  /** A re-encryption job's progress. */
  async job(id: string, options?: RequestOptions): Promise<ReEncryptionJob> {
    return this.#transport.request(
      { method: 'GET', path: path`/v1/org/encryption/jobs/${id}` },
      options,
    )
  }
}
