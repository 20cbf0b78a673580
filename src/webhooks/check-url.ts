import { isIP } from 'node:net'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import { addressRefusal, parseAllowList } from '../net/address-policy.ts'

/**
 * What can be known of a receiver URL before connecting: its scheme (https in production),
 * and, for an address literal, whether the outbound-request module would reach that address.
 * A host name is judged where it counts, at connect time (net/outbound.ts): what it resolves
 * to now says nothing about what it resolves to at delivery.
 */
export function createWebhookUrlCheck(outbound: Config['outbound']) {
  const { networks } = parseAllowList(outbound.allowPrivateHosts)
  const policy = { allowLocal: outbound.allowLocal, networks }
  return (url: URL): void => {
    if (url.protocol === 'http:' && outbound.production && !outbound.allowLocal)
      throw refused('outbound_scheme', 'Webhook URLs must use https.')
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    if (!isIP(host)) return
    const range = addressRefusal(host, policy)
    if (range !== undefined)
      throw refused(
        'outbound_address',
        `Webhook URLs may not point at ${range} addresses; only public addresses are reached.`,
      )
  }
}

const refused = (reason: string, detail: string) =>
  new AppError('url_refused', detail, { extra: { reason, field: 'url' } })
