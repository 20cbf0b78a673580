import { path } from '../core/path.ts'
import type { RequestOptions, Transport } from '../core/transport.ts'
import type {
  CreatedWebhook,
  CreateWebhookParams,
  PageData,
  RotatedWebhookSecret,
  UpdateWebhookParams,
  Webhook,
  WebhookDelivery,
} from '../types.ts'

/**
 * `/v1/webhooks`: where the organization's events are sent. Only a person's session (with
 * org:admin) may manage them; an access token gets a PermissionDeniedError.
 */
export class Webhooks {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /** `secret` in the result (`whsec_...`) is shown this once: give it to the receiver now. */
  async create(params: CreateWebhookParams, options?: RequestOptions): Promise<CreatedWebhook> {
    return this.#transport.request({ method: 'POST', path: '/v1/webhooks', body: params }, options)
  }

  async list(options?: RequestOptions): Promise<Webhook[]> {
    const page = await this.#transport.request<{ items: Webhook[] }>(
      { method: 'GET', path: '/v1/webhooks' },
      options,
    )
    return page.items
  }

  async get(id: string, options?: RequestOptions): Promise<Webhook> {
    return this.#transport.request({ method: 'GET', path: path`/v1/webhooks/${id}` }, options)
  }

  async update(
    id: string,
    params: UpdateWebhookParams,
    options?: RequestOptions,
  ): Promise<Webhook> {
    return this.#transport.request(
      { method: 'PATCH', path: path`/v1/webhooks/${id}`, body: params },
      options,
    )
  }

  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.#transport.request({ method: 'DELETE', path: path`/v1/webhooks/${id}` }, options)
  }

  /** A new secret; the previous one keeps signing for `overlapSeconds` (default a day). */
  async rotateSecret(
    id: string,
    params: { overlapSeconds?: number } = {},
    options?: RequestOptions,
  ): Promise<RotatedWebhookSecret> {
    return this.#transport.request(
      { method: 'POST', path: path`/v1/webhooks/${id}/rotate-secret`, body: params },
      options,
    )
  }

  /** Queues a `webhook.test` message for this endpoint; it is delivered in the background. */
  async test(id: string, options?: RequestOptions): Promise<WebhookDelivery> {
    return this.#transport.request(
      { method: 'POST', path: path`/v1/webhooks/${id}/test`, body: {} },
      options,
    )
  }

  /** The delivery log, newest first: each message with its attempts. */
  async deliveries(
    id: string,
    params: { limit?: number; cursor?: string } = {},
    options?: RequestOptions,
  ): Promise<PageData<WebhookDelivery>> {
    return this.#transport.request(
      { method: 'GET', path: path`/v1/webhooks/${id}/deliveries`, query: params },
      options,
    )
  }
}
