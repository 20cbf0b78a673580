// Copied by `npm run sdk:mock` from src/mock/fake-values.ts. Do not edit: change that file.
/**
 * Mock-mode fake values (DESIGN.md section 6): deterministic for (secret, tenant, key, version),
 * shaped like the provider's real keys (prefix, length, alphabet), recognisably fake, and built
 * so that common secret scanners do not report them as live keys. Computing one touches neither
 * KMS nor the ciphertext.
 *
 * WebCrypto and plain TypeScript only: the SDK imports this file (and its two siblings) into
 * browsers, Deno, Bun and edge runtimes for its offline mock mode. No `node:`, hono or AWS.
 */
import {
  createRandomStream,
  encodeFields,
  importHmacKey,
  type RandomStream,
} from './hmac-stream.ts'
import { DEFAULT_GENERIC_SHAPE, renderShape, type ValueShape } from './value-shape.ts'

export { describeShape, KNOWN_PREFIXES, type ValueShape } from './value-shape.ts'

export const providers = [
  'openai',
  'anthropic',
  'stripe-secret',
  'stripe-publishable',
  'stripe-restricted',
  'github-pat',
  'github-fine-grained-pat',
  'aws-access-key-id',
  'aws-secret-access-key',
  'twilio-account-sid',
  'twilio-api-key',
  'twilio-auth-token',
  'sendgrid',
  'generic',
] as const

export type Provider = (typeof providers)[number]

export interface FakeValueInput {
  /** The server-held mock secret (at least 16 bytes; 32 random bytes recommended). */
  secret: Uint8Array | string
  tenantId: string
  keyId: string
  version: number
  provider: Provider
  /** For `generic`: the shape recorded when the value was written (see describeShape). */
  shape?: ValueShape
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const LETTERS = ALNUM.slice(0, 52)
const BASE64URL = `${ALNUM}-_`
const BASE64 = `${ALNUM}+/`
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const HEX = '0123456789abcdef'
const zeros = (n: number) => '0'.repeat(n)

interface Format {
  build(random: RandomStream): Promise<string>
  /** Retried (deterministically, with the next attempt number) if a result matches this. */
  avoid?: RegExp
}

/*
 * What each fake looks like, and why scanners pass it over. Scanner facts from their sources:
 * the gitleaks default config (config/gitleaks.toml: a finding needs entropy above the rule's
 * threshold and must miss the rule's allowlist), trufflehog's detectors (pkg/detectors: an
 * unverified result containing "example", "sample", "00000", "xxxxxx", ... is dropped as a known
 * false positive, and a fake never verifies), and GitHub's token format (github.blog,
 * 2021-04-05: the last six characters of a classic token are a base62 CRC32 of the thirty
 * before them).
 */
const formats: Record<Exclude<Provider, 'generic'>, Format> = {
  // sk-proj- + 156 base64url, like real project keys, minus the "T3BlbkFJ" (base64 "OpenAI")
  // that real keys carry so scanners can find them: gitleaks and trufflehog both require it.
  openai: {
    build: async (r) => `sk-proj-mock${await r.chars(BASE64URL, 152)}`,
    avoid: /T3BlbkFJ/,
  },
  // sk-ant-api03- + 95 base64url. Real keys end in "AA" and both gitleaks and trufflehog match
  // `sk-ant-api03-[\w-]{93}AA`; the last character here is never `A`.
  anthropic: {
    build: async (r) =>
      `sk-ant-api03-mock${await r.chars(BASE64URL, 90)}${await r.chars(BASE64URL.replace('A', ''), 1)}`,
  },
  // Stripe's own test-mode keys: 99 alphanumerics as current keys have. Test mode is the
  // provider's marker for "not live"; trufflehog matches only `[rs]k_live_`. gitleaks'
  // stripe-access-token rule also matches test keys (sk_/rk_, not pk_): unavoidable in shape.
  'stripe-secret': { build: async (r) => `sk_test_mock${await r.chars(ALNUM, 95)}` },
  'stripe-publishable': { build: async (r) => `pk_test_mock${await r.chars(ALNUM, 95)}` },
  'stripe-restricted': { build: async (r) => `rk_test_mock${await r.chars(ALNUM, 95)}` },
  // ghp_ + 36 alphanumerics: "mock", 22 zeros, 10 random. The checksum slot starts with a letter,
  // so its base62 value is at least 10 * 62^5 > 2^32 and can never equal a CRC32: GitHub's
  // secret scanning and push protection see an invalid token. gitleaks checks no checksum, but
  // its github-pat rule needs entropy > 3 and this has at most 2.87 (18 distinct characters
  // and 22 zeros in 40); trufflehog drops it for the "00000".
  'github-pat': {
    build: async (r) =>
      `ghp_mock${zeros(22)}${await r.chars(ALNUM, 4)}${await r.chars(LETTERS, 1)}${await r.chars(ALNUM, 5)}`,
  },
  // github_pat_ + 22 + _ + 59, with the same zero runs: at most 2.58 bits of entropy against
  // gitleaks' threshold of 3, and "00000" for trufflehog. GitHub documents no checksum for it.
  'github-fine-grained-pat': {
    build: async (r) => `github_pat_mock${zeros(18)}_${zeros(43)}${await r.chars(ALNUM, 16)}`,
  },
  // AKIA + 16 base32, ending in AWS's documented placeholder suffix (AKIAIOSFODNN7EXAMPLE).
  // gitleaks allowlists `.+EXAMPLE$` for this rule; trufflehog drops anything with "example".
  // "EXAMPLE" rather than "MOCK" keeps nine random characters (45 bits) in a short id.
  'aws-access-key-id': { build: async (r) => `AKIA${await r.chars(BASE32, 9)}EXAMPLE` },
  // 40 base64 characters ending in EXAMPLE, like the documented example secret: the same
  // gitleaks allowlist (aws-secret-access-key) and trufflehog filter apply.
  'aws-secret-access-key': { build: async (r) => `mock${await r.chars(BASE64, 29)}EXAMPLE` },
  // Hex has no room for "mock": the marker is a run of 18 zeros. gitleaks' twilio-api-key rule
  // needs entropy > 3 and `SK` + 18 zeros + 14 hex has at most 2.88; trufflehog's Twilio
  // detector drops it for the "00000".
  'twilio-account-sid': { build: async (r) => `AC${zeros(18)}${await r.chars(HEX, 14)}` },
  'twilio-api-key': { build: async (r) => `SK${zeros(18)}${await r.chars(HEX, 14)}` },
  'twilio-auth-token': { build: async (r) => `${zeros(18)}${await r.chars(HEX, 14)}` },
  // SG. + 22 + . + 43 base64url. No checksum exists to fail, and gitleaks' sendgrid-api-token
  // rule (entropy > 2) matches any value of this shape; the trailing zeros make trufflehog drop
  // it, and "mock" tells a human.
  sendgrid: {
    build: async (r) =>
      `SG.mock${await r.chars(BASE64URL, 18)}.${await r.chars(BASE64URL, 38)}00000`,
  },
}

/** Real values, checked in order; anything else is `generic`. */
const detectors: ReadonlyArray<readonly [Provider, RegExp]> = [
  ['openai', /^sk-(?:proj|svcacct|admin)-[\w-]{40,}$/],
  ['openai', /^sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}$/],
  ['anthropic', /^sk-ant-api03-[\w-]{80,}$/],
  ['stripe-secret', /^sk_(?:test|live)_[A-Za-z0-9]{10,}$/],
  ['stripe-publishable', /^pk_(?:test|live)_[A-Za-z0-9]{10,}$/],
  ['stripe-restricted', /^rk_(?:test|live)_[A-Za-z0-9]{10,}$/],
  ['github-pat', /^ghp_[A-Za-z0-9]{36}$/],
  ['github-fine-grained-pat', /^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/],
  ['aws-access-key-id', /^AKIA[A-Z2-7]{16}$/],
  ['twilio-account-sid', /^AC[0-9a-f]{32}$/],
  ['twilio-api-key', /^SK[0-9a-f]{32}$/],
  ['sendgrid', /^SG\.[\w-]{22}\.[\w-]{43}$/],
]

/**
 * Guesses the provider from a real value at write time, so a key stored without `provider`
 * still gets a well-shaped fake. AWS secret keys and Twilio auth tokens have no prefix to go
 * by: they come out `generic`, whose shape keeps their length and alphabet anyway.
 */
export function detectProvider(value: string): Provider {
  return detectors.find(([, pattern]) => pattern.test(value))?.[0] ?? 'generic'
}

const DOMAIN = 'keystash/mock-value/v1'
const MAX_ATTEMPTS = 8

export async function fakeValue(input: FakeValueInput): Promise<string> {
  const { tenantId, keyId, version, provider } = input
  if (
    typeof tenantId !== 'string' ||
    tenantId === '' ||
    typeof keyId !== 'string' ||
    keyId === ''
  ) {
    throw new TypeError('tenantId and keyId must be non-empty strings')
  }
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new TypeError('version must be a non-negative integer')
  }
  if (!providers.includes(provider)) throw new TypeError('unknown provider')
  const key = await importHmacKey(input.secret)
  const format: Format =
    provider === 'generic'
      ? { build: (r) => renderShape(input.shape ?? DEFAULT_GENERIC_SHAPE, r) }
      : formats[provider]
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const context = encodeFields([DOMAIN, tenantId, keyId, String(version), String(attempt)])
    const value = await format.build(createRandomStream(key, context))
    if (!format.avoid?.test(value)) return value
  }
  // Each attempt fails with probability below 1e-12; eight in a row do not happen.
  throw new Error('could not derive a mock value')
}
