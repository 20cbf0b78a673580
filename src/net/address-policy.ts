import ipaddr from 'ipaddr.js'

/**
 * Which network addresses an outbound request may connect to. Only global unicast addresses
 * pass by default: everything ipaddr.js files under another range (loopback, private, CGNAT,
 * link-local with the cloud metadata address 169.254.169.254, multicast, 0.0.0.0/8, reserved,
 * and the IPv6 forms that embed an IPv4 address: IPv4-mapped, NAT64, 6to4, Teredo) is refused,
 * whatever address it embeds. Embedded forms are refused outright rather than unwrapped, since
 * a legitimate issuer or receiver has no reason to be reached through them.
 */

/** Ranges an operator's named private hosts, or development's `allowLocal`, may reach. */
const LOCAL_RANGES: ReadonlySet<string> = new Set([
  'loopback',
  'private',
  'uniqueLocal',
  'carrierGradeNat',
])

export interface AddressPolicy {
  /** Development and tests: loopback and private addresses are reachable. */
  allowLocal: boolean
  /** Operator-listed networks (CIDR or single addresses) that are reachable whatever their range. */
  networks: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][]
}

/**
 * Why `address` may not be connected to, or `undefined` when it may. `trustedName` is set when
 * the host name itself is on the operator's allow-list: it may then resolve to local ranges.
 */
export function addressRefusal(
  address: string,
  policy: AddressPolicy,
  trustedName = false,
): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address'
  const parsed = ipaddr.parse(address)
  const range = parsed.range()
  if (range === 'unicast') return undefined
  if (policy.networks.some((network) => sameKind(parsed, network[0]) && parsed.match(network)))
    return undefined
  if ((policy.allowLocal || trustedName) && LOCAL_RANGES.has(localRange(parsed))) return undefined
  return range
}

/** `::ffff:127.0.0.1` is how a dual-stack socket may report a local IPv4 peer. */
function localRange(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress())
    return (address as ipaddr.IPv6).toIPv4Address().range()
  return address.range()
}

function sameKind(a: ipaddr.IPv4 | ipaddr.IPv6, b: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return a.kind() === b.kind()
}

/** Host names are compared case-insensitively and without a trailing dot. */
export const normalizeHostName = (host: string) => host.toLowerCase().replace(/\.$/, '')

/**
 * Splits the operator's allow-list into networks (`10.0.0.0/8`, `fd00::1`) and host names
 * (`issuer.corp.example`). Throws on an entry that is neither, so bad configuration fails at
 * start-up.
 */
export function parseAllowList(entries: readonly string[]): {
  networks: AddressPolicy['networks']
  names: ReadonlySet<string>
} {
  const networks: [ipaddr.IPv4 | ipaddr.IPv6, number][] = []
  const names = new Set<string>()
  for (const raw of entries) {
    const entry = raw.trim()
    if (entry.includes('/')) {
      try {
        networks.push(ipaddr.parseCIDR(entry))
      } catch {
        throw new Error(`not a CIDR network: ${entry}`)
      }
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry)
      networks.push([address, address.kind() === 'ipv4' ? 32 : 128])
    } else if (
      /^(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(
        entry,
      )
    ) {
      names.add(normalizeHostName(entry))
    } else {
      throw new Error(`not a host name, address or CIDR network: ${entry}`)
    }
  }
  return { networks, names }
}
