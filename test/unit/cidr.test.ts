import { describe, expect, it } from 'vitest'
import { forwardedClient } from '../../src/http/client.ts'
import { canonicalCidr, cidrCovers, createAddressMatcher } from '../../src/net/cidr.ts'

describe('address ranges', () => {
  it('reads CIDRs and bare addresses, IPv4 and IPv6, canonically', () => {
    expect(canonicalCidr('10.1.2.3/8')).toBe('10.0.0.0/8')
    expect(canonicalCidr('192.0.2.7')).toBe('192.0.2.7/32')
    expect(canonicalCidr('2001:db8:abcd::1/48')).toBe('2001:db8:abcd::/48')
    expect(canonicalCidr('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8')
    for (const bad of ['', 'localhost', '10.0.0.0/33', '2001:db8::/129', '1.2.3', '10.0.0.0/8/1'])
      expect(canonicalCidr(bad)).toBeUndefined()
  })

  it('matches addresses, IPv4-mapped IPv6 as the IPv4 address it carries', () => {
    const allowed = createAddressMatcher(['192.0.2.0/24', '2001:db8::/32'])
    expect(allowed('192.0.2.55')).toBe(true)
    expect(allowed('::ffff:192.0.2.55')).toBe(true)
    expect(allowed('192.0.3.1')).toBe(false)
    expect(allowed('2001:db8:1::9')).toBe(true)
    expect(allowed('2001:db9::1')).toBe(false)
    expect(allowed(undefined)).toBe(false)
    expect(allowed('not an address')).toBe(false)
  })

  it('says whether a child range stays inside a parent range', () => {
    expect(cidrCovers('10.0.0.0/8', '10.1.0.0/16')).toBe(true)
    expect(cidrCovers('10.0.0.0/8', '10.0.0.0/8')).toBe(true)
    expect(cidrCovers('10.1.0.0/16', '10.0.0.0/8')).toBe(false)
    expect(cidrCovers('10.0.0.0/8', '11.0.0.1/32')).toBe(false)
    expect(cidrCovers('2001:db8::/32', '2001:db8:5::/48')).toBe(true)
    expect(cidrCovers('10.0.0.0/8', '2001:db8::/32')).toBe(false)
  })
})

describe('the client behind trusted proxies', () => {
  const trusted = createAddressMatcher(['10.0.0.0/8', 'fd00::/8'])

  it('walks X-Forwarded-For right to left to the first untrusted hop', () => {
    expect(forwardedClient('10.0.0.2', '198.51.100.7, 10.0.0.9', trusted)).toBe('198.51.100.7')
    // What the client wrote itself, left of the first untrusted hop, proves nothing.
    expect(forwardedClient('10.0.0.2', '1.1.1.1, 198.51.100.7, 10.0.0.9', trusted)).toBe(
      '198.51.100.7',
    )
    expect(forwardedClient('fd00::1', '2001:db8::77', trusted)).toBe('2001:db8::77')
  })

  it('ignores the header when the peer itself is not trusted', () => {
    expect(forwardedClient('203.0.113.9', '192.0.2.1', trusted)).toBe('203.0.113.9')
  })

  it('gives no address when a hop it must believe is not an address', () => {
    expect(forwardedClient('10.0.0.2', 'evil, ', trusted)).toBeUndefined()
  })

  it('a chain of trusted hops only ends at the leftmost one', () => {
    expect(forwardedClient('10.0.0.2', '10.0.0.4, 10.0.0.3', trusted)).toBe('10.0.0.4')
  })
})
