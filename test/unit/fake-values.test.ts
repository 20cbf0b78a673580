import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  describeShape,
  detectProvider,
  type FakeValueInput,
  fakeValue,
  type Provider,
  providers,
} from '../../src/mock/fake-values.ts'

type Shaped = Exclude<Provider, 'generic'>

const secret = Uint8Array.from({ length: 32 }, (_, i) => i)
const base = { secret, tenantId: 'tenant-1', keyId: 'key-1', version: 1 }
const fake = (provider: Provider, over: Partial<FakeValueInput> = {}) =>
  fakeValue({ ...base, provider, ...over })

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const BASE64URL = `${ALNUM}-_`
const HEX = '0123456789abcdef'
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
// Live-looking samples are built at run time, so no key-shaped literal sits in this repository.
const rand = (alphabet: string, n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % alphabet.length]).join(
    '',
  )

// The documented shape of each provider's real keys (prefix, length, alphabet).
const documentedShape: Record<Shaped, RegExp> = {
  openai: /^sk-proj-[A-Za-z0-9_-]{156}$/,
  anthropic: /^sk-ant-api03-[A-Za-z0-9_-]{95}$/,
  'stripe-secret': /^sk_test_[A-Za-z0-9]{99}$/,
  'stripe-publishable': /^pk_test_[A-Za-z0-9]{99}$/,
  'stripe-restricted': /^rk_test_[A-Za-z0-9]{99}$/,
  'github-pat': /^ghp_[A-Za-z0-9]{36}$/,
  'github-fine-grained-pat': /^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/,
  'aws-access-key-id': /^AKIA[A-Z2-7]{16}$/,
  'aws-secret-access-key': /^[A-Za-z0-9/+]{40}$/,
  'twilio-account-sid': /^AC[0-9a-f]{32}$/,
  'twilio-api-key': /^SK[0-9a-f]{32}$/,
  'twilio-auth-token': /^[0-9a-f]{32}$/,
  sendgrid: /^SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/,
}

// What makes each fake recognisable: "mock", the provider's test mode, AWS's documented
// EXAMPLE suffix, or (hex has no room for letters past f) a run of zeros.
const fakeMark: Record<Shaped, RegExp> = {
  openai: /^sk-proj-mock/,
  anthropic: /^sk-ant-api03-mock/,
  'stripe-secret': /^sk_test_mock/,
  'stripe-publishable': /^pk_test_mock/,
  'stripe-restricted': /^rk_test_mock/,
  'github-pat': /^ghp_mock0{22}/,
  'github-fine-grained-pat': /^github_pat_mock0{18}_0{43}/,
  'aws-access-key-id': /EXAMPLE$/,
  'aws-secret-access-key': /^mock.*EXAMPLE$/,
  'twilio-account-sid': /^AC0{18}/,
  'twilio-api-key': /^SK0{18}/,
  'twilio-auth-token': /^0{18}/,
  sendgrid: /^SG\.mock.*00000$/,
}

/*
 * Live-key rules of common scanners, with the parts of their logic that decide a match.
 * gitleaks: config/gitleaks.toml in github.com/gitleaks/gitleaks; a finding's secret is the
 * first non-empty group (or the whole match), is kept only if its Shannon entropy is above the
 * rule's threshold (detect.go: `if entropy <= r.Entropy { continue }`) and misses the rule's
 * allowlist; aws-secret-access-key is a sub-rule, reported only next to an access key id. Left
 * out, because no value of the provider's shape avoids them: stripe-access-token (matches test
 * keys too) and sendgrid-api-token (entropy > 2).
 * trufflehog: pkg/detectors/<name>/<name>.go in github.com/trufflesecurity/trufflehog; an
 * unverified result containing a DefaultFalsePositives term is dropped (falsepositives.go).
 * GitHub: classic tokens end in a base62 CRC32 of the 30 characters after the prefix
 * (github.blog/2021-04-05-behind-githubs-new-authentication-token-formats).
 */
const shannon = (s: string) => {
  const counts = new Map<string, number>()
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  return [...counts.values()].reduce((h, n) => h - (n / s.length) * Math.log2(n / s.length), 0)
}
interface Scanner {
  id: string
  flags: (text: string) => boolean
  /** Sub-rules fire only next to their parent's match: checked against one provider's fakes. */
  only?: Shaped
}
const gitleaks = (id: string, pattern: RegExp, entropy: number, allow?: RegExp): Scanner => ({
  id: `gitleaks ${id}`,
  flags: (text: string) =>
    [...text.matchAll(pattern)].some((m) => {
      const secret = m.slice(1).find((g) => g) ?? m[0]
      return (entropy === 0 || shannon(secret) > entropy) && !allow?.test(secret)
    }),
})
const TRUFFLEHOG_FALSE_POSITIVES = [
  'example',
  'xxxxxx',
  'aaaaaa',
  'abcde',
  '00000',
  'sample',
  '*****',
]
const trufflehog = (id: string, pattern: RegExp): Scanner => ({
  id: `trufflehog ${id}`,
  flags: (text: string) =>
    [...text.matchAll(pattern)].some(
      (m) => !TRUFFLEHOG_FALSE_POSITIVES.some((fp) => (m[1] ?? m[0]).toLowerCase().includes(fp)),
    ),
})
const BASE62_ORDERS = [
  ALNUM.slice(52) + ALNUM.slice(0, 52),
  `0123456789${ALNUM.slice(26, 52)}${ALNUM.slice(0, 26)}`,
]
const githubChecksumValid = (text: string) =>
  [...text.matchAll(/gh[pousr]_([A-Za-z0-9]{30})([A-Za-z0-9]{6})/g)].some(([, body, sum]) =>
    BASE62_ORDERS.some(
      (order) =>
        [...(sum as string)].reduce((n, ch) => n * 62 + order.indexOf(ch), 0) ===
        crc32(body as string),
    ),
  )
const githubToken = (body30: string) => {
  let n = crc32(body30)
  let sum = ''
  for (let i = 0; i < 6; i++, n = Math.floor(n / 62))
    sum = (BASE62_ORDERS[0] as string)[n % 62] + sum
  return `ghp_${body30}${sum}`
}

const scanners: Scanner[] = [
  gitleaks(
    'openai-api-key',
    /\b(sk-(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})\b|sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20})(?:[`'"\s;]|\\[nr]|$)/g,
    3,
  ),
  gitleaks('anthropic-api-key', /\b(sk-ant-api03-[a-zA-Z0-9_-]{93}AA)(?:[`'"\s;]|\\[nr]|$)/g, 0),
  gitleaks(
    'aws-access-token',
    /\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b/g,
    3,
    /.+EXAMPLE$/,
  ),
  {
    ...gitleaks(
      'aws-secret-access-key',
      /\b([A-Za-z0-9/+=]{40})(?:[`'"\s;]|\\[nr]|$)/g,
      3,
      /.+EXAMPLE$/,
    ),
    only: 'aws-secret-access-key',
  },
  gitleaks('github-pat', /ghp_[0-9a-zA-Z]{36}/g, 3),
  gitleaks('github-fine-grained-pat', /github_pat_\w{82}/g, 3),
  gitleaks('twilio-api-key', /SK[0-9a-fA-F]{32}/g, 3),
  trufflehog(
    'openai',
    /\b(sk-(?:(?:proj|svcacct|service)-[A-Za-z0-9_-]+|[a-zA-Z0-9]+)T3BlbkFJ[A-Za-z0-9_-]+)\b/g,
  ),
  trufflehog('anthropic', /\b(sk-ant-api03-[\w-]{93}AA)\b/g),
  trufflehog('stripe', /[rs]k_live_[a-zA-Z0-9]{20,30}/g),
  trufflehog('github', /\b((?:ghp|gho|ghu|ghs|ghr|github_pat)_[a-zA-Z0-9_]{36,255})\b/g),
  trufflehog('sendgrid', /(SG\.[\w-]{20,24}\.[\w-]{39,50})\b/g),
  trufflehog('twilio', /\bAC[0-9a-f]{32}\b/g),
  { id: 'github checksum', flags: githubChecksumValid },
]

// A live-looking value each scanner must flag, so a broken rule above cannot pass vacuously.
const liveLooking: Record<string, () => string> = {
  // The rule ends in \b, so its key must end in a word character, as real keys do.
  'gitleaks openai-api-key': () =>
    `sk-proj-${rand(BASE64URL, 74)}T3BlbkFJ${rand(BASE64URL, 73)}${rand(ALNUM, 1)}`,
  'gitleaks anthropic-api-key': () => `sk-ant-api03-${rand(BASE64URL, 93)}AA`,
  // Distinct characters: a random draw with repeats can fall under the rule's entropy bar.
  'gitleaks aws-access-token': () =>
    `AKIA${[...BASE32]
      .sort(() => Math.random() - 0.5)
      .slice(0, 16)
      .join('')}`,
  // The rule starts with \b, so the secret must start with a word character.
  'gitleaks aws-secret-access-key': () => rand(ALNUM, 1) + rand(`${ALNUM}+/`, 39),
  'gitleaks github-pat': () => githubToken(rand(ALNUM, 30)),
  'gitleaks github-fine-grained-pat': () => `github_pat_${rand(ALNUM, 22)}_${rand(ALNUM, 59)}`,
  'gitleaks twilio-api-key': () => `SK${rand(HEX, 32)}`,
  'trufflehog openai': () => `sk-proj-${rand(BASE64URL, 60)}T3BlbkFJ${rand(BASE64URL, 60)}`,
  'trufflehog anthropic': () => `sk-ant-api03-${rand(BASE64URL, 93)}AA`,
  'trufflehog stripe': () => `${'sk_'}live_${rand(ALNUM, 24)}`,
  'trufflehog github': () => githubToken(rand(ALNUM, 30)),
  'trufflehog sendgrid': () => `SG.${rand(BASE64URL, 22)}.${rand(BASE64URL, 43)}`,
  'trufflehog twilio': () => `AC${rand(HEX, 32)}`,
  'github checksum': () => githubToken(rand(ALNUM, 30)),
}

const shaped = providers.filter((p): p is Shaped => p !== 'generic')
const manyFakes = async (provider: Shaped) =>
  Promise.all(Array.from({ length: 40 }, (_, i) => fake(provider, { keyId: `key-${i}` })))

describe('provider fakes', () => {
  it.each(shaped)('%s: documented shape, recognisably fake, deterministic', async (provider) => {
    const values = await manyFakes(provider)
    for (const value of values) {
      expect(value).toMatch(documentedShape[provider])
      expect(value).toMatch(fakeMark[provider])
    }
    expect(new Set(values).size).toBe(values.length)
    expect(await fake(provider, { keyId: 'key-7' })).toBe(values[7])
  })

  it('every scanner rule flags a live-looking value', () => {
    // Many draws each: a rule that misses only some random values would otherwise flake.
    for (const scanner of scanners) {
      for (let i = 0; i < 200; i++) {
        const value = liveLooking[scanner.id]?.() ?? ''
        expect(scanner.flags(value), scanner.id).toBe(true)
      }
    }
  })

  it.each(shaped)('%s: no scanner reports the fake as a live key', async (provider) => {
    for (const value of await manyFakes(provider)) {
      for (const scanner of scanners.filter((s) => !s.only || s.only === provider)) {
        expect(scanner.flags(`API_KEY="${value}"`), `${scanner.id} on ${value}`).toBe(false)
      }
    }
  })

  it('changes with the secret, tenant, key and version, and keeps fields apart', async () => {
    const reference = await fake('openai')
    const variants = await Promise.all([
      fake('openai', { secret: Uint8Array.from({ length: 32 }, (_, i) => i + 1) }),
      fake('openai', { tenantId: 'tenant-2' }),
      fake('openai', { keyId: 'key-2' }),
      fake('openai', { version: 2 }),
      fake('openai', { tenantId: 'tenant-1k', keyId: 'ey-1' }),
      fake('openai', { tenantId: 'tenant-', keyId: '1key-1' }),
    ])
    expect(new Set([reference, ...variants]).size).toBe(variants.length + 1)
  })

  it('draws the random part from HMAC-SHA-256 over the length-prefixed inputs', async () => {
    const field = (s: string) => {
      const bytes = new TextEncoder().encode(s)
      const length = new Uint8Array(4)
      new DataView(length.buffer).setUint32(0, bytes.length)
      return [...length, ...bytes]
    }
    const fields = ['keystash/mock-value/v1', 'tenant-1', 'key-1', '1', '0']
    const block0 = createHmac('sha256', secret)
      .update(Uint8Array.from([...fields.flatMap(field), 0, 0, 0, 0]))
      .digest()
    // Sixteen divides 256, so no byte is rejected and the tail is the first 14 bytes, mod 16.
    const expected = Array.from(block0.subarray(0, 14), (b) => HEX[b % 16]).join('')
    expect(await fake('twilio-auth-token')).toBe(`${'0'.repeat(18)}${expected}`)
  })

  it('refuses short secrets and bad inputs without echoing the secret', async () => {
    const weak = 'hunter2-hunter2'
    const error = await fake('openai', { secret: weak }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(RangeError)
    expect(String(error)).not.toContain(weak)
    await expect(fake('openai', { version: -1 })).rejects.toThrow(TypeError)
    await expect(fake('openai', { keyId: '\uD800' })).rejects.toThrow(TypeError)
    await expect(fake('nope' as Provider)).rejects.toThrow(TypeError)
  })
})

describe('detectProvider', () => {
  it('recognises real-shaped values and falls back to generic', () => {
    const samples: Array<[string, Provider]> = [
      [`sk-proj-${rand(BASE64URL, 74)}T3BlbkFJ${rand(BASE64URL, 74)}`, 'openai'],
      [`sk-${rand(ALNUM, 20)}T3BlbkFJ${rand(ALNUM, 20)}`, 'openai'],
      [`sk-ant-api03-${rand(BASE64URL, 93)}AA`, 'anthropic'],
      [`${'sk_'}live_${rand(ALNUM, 99)}`, 'stripe-secret'],
      [`pk_test_${rand(ALNUM, 24)}`, 'stripe-publishable'],
      [`${'rk_'}live_${rand(ALNUM, 99)}`, 'stripe-restricted'],
      [githubToken(rand(ALNUM, 30)), 'github-pat'],
      [`github_pat_${rand(ALNUM, 22)}_${rand(ALNUM, 59)}`, 'github-fine-grained-pat'],
      [`AKIA${rand(BASE32, 16)}`, 'aws-access-key-id'],
      [`AC${rand(HEX, 32)}`, 'twilio-account-sid'],
      [`SK${rand(HEX, 32)}`, 'twilio-api-key'],
      [`SG.${rand(BASE64URL, 22)}.${rand(BASE64URL, 43)}`, 'sendgrid'],
      [rand(HEX, 32), 'generic'],
      ['ACME-corp-shared-password', 'generic'],
      ['', 'generic'],
    ]
    for (const [value, provider] of samples) expect(detectProvider(value), value).toBe(provider)
  })

  it('maps each detectable fake back to its provider', async () => {
    const undetectable = ['aws-secret-access-key', 'twilio-auth-token']
    for (const provider of shaped) {
      const expected = undetectable.includes(provider) ? 'generic' : provider
      expect(detectProvider(await fake(provider))).toBe(expected)
    }
  })
})

const sixteenKiB = 16 * 1024
const genericInputs: Record<string, string> = {
  'slack bot token': `xoxb-${rand('0123456789', 12)}-${rand('0123456789', 13)}-${rand(ALNUM, 24)}`,
  'base64 secret': `${rand(`${ALNUM}+/`, 43)}=`,
  'hex token': rand(HEX, 32),
  'upper case and digits': rand(`${ALNUM.slice(0, 26)}0123456789`, 24),
  'digits only': rand('0123456789', 6),
  'short, no room for mock': 'q7!x',
  'multi-byte UTF-8': `pässwörd-${rand(ALNUM, 10)}-日本語-🔑`,
  'symbols only': '!@#$%^&*()',
  'PEM-like': `-----BEGIN KEY-----\n${rand(`${ALNUM}+/`, 64)}\n-----END KEY-----\n`,
  '16 KiB ASCII': rand(`${ALNUM}!#%&*+-./:;<=>?@_~`, sixteenKiB),
  '16 KiB multi-byte': Array.from({ length: sixteenKiB / 2 }, () => `${rand(ALNUM, 1)}ж`).join(''),
}
const highEntropy = [
  'slack bot token',
  'base64 secret',
  'PEM-like',
  '16 KiB ASCII',
  '16 KiB multi-byte',
]
const grams = (s: string, n: number) =>
  new Set(Array.from({ length: Math.max(0, s.length - n + 1) }, (_, i) => s.slice(i, i + n)))

describe('generic fallback', () => {
  it.each(Object.entries(genericInputs))('%s: mirrors length and classes', async (name, value) => {
    const shape = describeShape(value)
    const generic = await fake('generic', { shape })
    expect([...generic].length).toBe([...value].length)
    expect(describeShape(generic)).toEqual(shape)
    expect(generic.startsWith(shape.prefix)).toBe(true)
    expect(await fake('generic', { shape })).toBe(generic)
    const body = generic.slice(shape.prefix.length)
    const room = (shape.lower || shape.upper) && !shape.hex && [...body].length >= 12
    if (room) expect(body).toMatch(/^(mock|MOCK)/)
    if (name === 'digits only' || name === 'hex token') expect(generic).not.toMatch(/mock/i)
  })

  it.each(highEntropy)('%s: no piece of the value beyond the prefix leaks', async (name) => {
    const value = genericInputs[name] as string
    const shape = describeShape(value)
    const generic = await fake('generic', { shape })
    const leaked = grams(value.slice(shape.prefix.length), 8)
    const stored = JSON.stringify(shape)
    for (const gram of grams(generic, 8)) expect(leaked.has(gram)).toBe(false)
    for (const gram of grams(stored, 8)) expect(leaked.has(gram)).toBe(false)
    expect(stored.length).toBeLessThan(200)
  })

  it('stores only coarse facts, and a prefix only from the public list', () => {
    const shape = describeShape(genericInputs['slack bot token'] as string)
    expect(Object.keys(shape).sort()).toEqual(
      ['digit', 'hex', 'length', 'lower', 'nonAscii', 'prefix', 'symbols', 'upper', 'v'].sort(),
    )
    expect(shape.prefix).toBe('xoxb-')
    expect(describeShape(`kq-${rand(BASE64URL, 40)}`).prefix).toBe('')
    expect(describeShape('xoxb-1234567').prefix).toBe('')
    expect(describeShape(`${'sk_'}live_${rand(ALNUM, 30)}!`).prefix).toBe('')
    expect(describeShape(`AKIA${rand(ALNUM, 30)}`).prefix).toBe('')
    expect(describeShape('a-b_c!d').symbols).toBe('!-_')
  })

  it('has a default shape and refuses malformed stored shapes', async () => {
    expect(await fake('generic')).toMatch(/^mock[A-Za-z0-9]{36}$/)
    const good = describeShape('xoxb-abcdefgh12')
    for (const bad of [
      { ...good, prefix: `${'sk_'}live_` },
      { ...good, length: -1 },
      { ...good, length: 2 ** 21 },
      { ...good, symbols: 'a' },
      { ...good, v: 2 },
      { ...good, length: 5 },
    ]) {
      await expect(fake('generic', { shape: bad as typeof good })).rejects.toThrow(TypeError)
    }
  })
})

describe('portability', () => {
  it('fake-values.ts and what it imports use no server-only module', () => {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
      expect(text, file).not.toMatch(/\bnode:|['"]hono|@aws-sdk|\bprocess\.|\bBuffer\b|\brequire\(/)
      for (const [, specifier] of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)) {
        expect(specifier, file).toMatch(/^\.\/[\w-]+\.ts$/)
        visit(resolve(dirname(file), specifier as string))
      }
    }
    const here = dirname(fileURLToPath(import.meta.url))
    visit(resolve(here, '../../src/mock/fake-values.ts'))
    expect(seen.size).toBe(3)
  })
})
