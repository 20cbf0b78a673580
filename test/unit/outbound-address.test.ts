import { describe, expect, it } from 'vitest'
import { addressRefusal, parseAllowList } from '../../src/net/address-policy.ts'
import { createOutboundFetch, OutboundRefusedError } from '../../src/net/outbound.ts'

const strict = { allowLocal: false, networks: [] }
const local = { allowLocal: true, networks: [] }

describe('which addresses outbound requests may reach', () => {
  it.each([
    ['8.8.8.8', 'public IPv4'],
    ['1.1.1.1', 'public IPv4'],
    ['2606:4700:4700::1111', 'public IPv6'],
    ['2a00:1450:4001:80b::200e', 'public IPv6'],
  ])('allows %s (%s)', (address) => {
    expect(addressRefusal(address, strict)).toBeUndefined()
  })

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['169.254.169.254', 'linkLocal'],
    ['169.254.0.1', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    // IPv6 forms that embed an IPv4 address: refused whatever they embed.
    ['::ffff:127.0.0.1', 'ipv4Mapped'],
    ['::ffff:169.254.169.254', 'ipv4Mapped'],
    ['::ffff:10.0.0.1', 'ipv4Mapped'],
    ['::ffff:8.8.8.8', 'ipv4Mapped'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2001::1', 'teredo'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressRefusal(address, strict)).toBe(range)
  })

  it('refuses what is not an address at all', () => {
    expect(addressRefusal('localhost', strict)).toBe('not an IP address')
  })

  it.each([
    '127.0.0.1',
    '::1',
    '10.1.2.3',
    '192.168.0.10',
    'fd00::5',
    '100.64.1.1',
    '::ffff:127.0.0.1',
  ])('allowLocal lets %s through', (address) => {
    expect(addressRefusal(address, local)).toBeUndefined()
  })

  it.each([
    '169.254.169.254',
    'fe80::1',
    '224.0.0.1',
    '0.0.0.0',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
  ])('allowLocal still refuses %s', (address) => {
    expect(addressRefusal(address, local)).toBeDefined()
  })

  it('lets an operator-listed network through, and nothing next to it', () => {
    const { networks } = parseAllowList(['10.20.0.0/16', '192.168.7.7', 'fd00::/8'])
    const policy = { allowLocal: false, networks }
    expect(addressRefusal('10.20.3.4', policy)).toBeUndefined()
    expect(addressRefusal('192.168.7.7', policy)).toBeUndefined()
    expect(addressRefusal('fd00::9', policy)).toBeUndefined()
    expect(addressRefusal('10.21.0.1', policy)).toBe('private')
    expect(addressRefusal('192.168.7.8', policy)).toBe('private')
    expect(addressRefusal('127.0.0.1', policy)).toBe('loopback')
  })

  it('lets an operator-listed host name reach local ranges, but not link-local', () => {
    expect(addressRefusal('10.0.0.5', strict, true)).toBeUndefined()
    expect(addressRefusal('169.254.169.254', strict, true)).toBe('linkLocal')
  })

  it('parses host names apart from networks and rejects garbage', () => {
    const parsed = parseAllowList(['Issuer.Corp.Example.', 'jwks'])
    expect([...parsed.names]).toEqual(['issuer.corp.example', 'jwks'])
    expect(() => parseAllowList(['10.0.0.0/99'])).toThrow(/CIDR/)
    expect(() => parseAllowList(['issuer example'])).toThrow(/host name/)
  })
})

describe('outbound fetch before it connects', () => {
  const outbound = createOutboundFetch({ production: true })

  it.each([
    ['http://issuer.example/', 'outbound_scheme'],
    ['ftp://issuer.example/', 'outbound_scheme'],
    ['https://127.0.0.1/', 'outbound_address'],
    ['https://[::1]/', 'outbound_address'],
    ['https://169.254.169.254/latest/meta-data/', 'outbound_address'],
    ['https://[::ffff:a9fe:a9fe]/', 'outbound_address'],
    ['https://0x7f.1/', 'outbound_address'],
    ['https://2130706433/', 'outbound_address'],
    ['https://10.0.0.1:8443/', 'outbound_address'],
    ['not a url', 'outbound_url'],
    ['https://user:pass@issuer.example/', 'outbound_url'],
  ])('refuses %s with %s', async (url, code) => {
    const error = await outbound(url).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutboundRefusedError)
    expect((error as OutboundRefusedError).code).toBe(code)
  })

  it('refuses bad options when it is created', () => {
    expect(() => createOutboundFetch({ production: true, maxBytes: 0 })).toThrow(/maxBytes/)
    expect(() => createOutboundFetch({ production: true, allowPrivateHosts: ['a b'] })).toThrow(
      /host name/,
    )
  })
})
