import ipaddr from 'ipaddr.js'

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

/**
 * An address as compared against ranges: IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a
 * dual-stack socket reports for an IPv4 peer) reads as the IPv4 address it carries, so one
 * IPv4 range covers both spellings. Undefined when it is not an address.
 */
export function parseAddress(address: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (address === undefined || !isStrictAddress(address)) return undefined
  return ipaddr.process(address)
}

/** Dotted quads and IPv6 only: ipaddr.js also reads `1.2.3` or `0x7f.1` as IPv4, which no socket reports. */
function isStrictAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text)
}

/**
 * A range in CIDR notation, canonical (`10.1.2.3/8` reads as `10.0.0.0/8`); a bare address is
 * the range of that one address. Undefined when it is neither.
 */
export function canonicalCidr(text: string): string | undefined {
  const range = parseRange(text)
  if (range === undefined) return undefined
  const [address, bits] = range
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`)
  return `${network.toString()}/${bits}`
}

function parseRange(text: string): Range | undefined {
  try {
    if (text.includes('/')) {
      if (!isStrictAddress(text.slice(0, text.indexOf('/')))) return undefined
      const [address, bits] = ipaddr.parseCIDR(text)
      // `::ffff:10.0.0.0/104` is an IPv4 range spelled in IPv6.
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
        return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96]
      return [address, bits]
    }
    const address = parseAddress(text)
    if (address === undefined) return undefined
    return [address, address.kind() === 'ipv4' ? 32 : 128]
  } catch {
    return undefined
  }
}

/** Whether `address` lies in one of `ranges` (canonical CIDRs); an unknown address never does. */
export function createAddressMatcher(ranges: readonly string[]) {
  const parsed = ranges.map(parseRange).filter((r): r is Range => r !== undefined)
  return (address: string | undefined): boolean => {
    const parsedAddress = parseAddress(address)
    if (parsedAddress === undefined) return false
    return parsed.some(
      ([network, bits]) =>
        network.kind() === parsedAddress.kind() && parsedAddress.match(network, bits),
    )
  }
}

export type AddressMatcher = ReturnType<typeof createAddressMatcher>

/** Whether every address of `inner` is in `outer` (both CIDRs): how a child narrows a parent. */
export function cidrCovers(outer: string, inner: string): boolean {
  const o = parseRange(outer)
  const i = parseRange(inner)
  if (o === undefined || i === undefined || o[0].kind() !== i[0].kind()) return false
  return i[1] >= o[1] && i[0].match(o[0], o[1])
}
