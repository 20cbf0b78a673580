import { z } from 'zod'
import { canonicalCidr } from '../net/cidr.ts'

// The environment variables as config.ts parses them (it is the only reader of the
// environment): their names, rules and defaults.

const seconds = (name: string, fallback: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number of seconds` })
    .int(`${name} must be a whole number of seconds`)
    .min(0, `${name} must be 0 or more`)
    .max(max, `${name} must be at most ${max}`)
    .default(fallback)

const perSecond = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a number of requests per second` })
    .min(0, `${name} must be 0 (off) or more`)
    .max(1_000_000, `${name} must be at most 1000000`)
    .default(fallback)

const burst = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number of requests` })
    .int(`${name} must be a whole number of requests`)
    .min(1, `${name} must be at least 1`)
    .max(10_000_000, `${name} must be at most 10000000`)
    .optional()

const milliseconds = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a number of milliseconds` })
    .int(`${name} must be a whole number of milliseconds`)
    .min(1, `${name} must be at least 1`)
    .max(120_000, `${name} must be at most 120000`)
    .default(fallback)

const oneOf = <T extends readonly [string, ...string[]]>(
  name: string,
  values: T,
  fallback: T[number],
) => z.enum(values, { error: `${name} must be one of: ${values.join(', ')}` }).default(fallback)

const guardrail = (name: string) =>
  oneOf(name, ['none', 'force-mock', 'force-live', 'forbid-mock'] as const, 'none')

/** The longest token lifetime any configuration allows (ten years). */
export const MAX_TOKEN_TTL_SECONDS = 3650 * 86400

/** Every environment variable the server reads, with its rule and default. */
export const envSchema = z.object({
  PORT: z.coerce
    .number({ error: 'PORT must be a port number' })
    .int('PORT must be a port number')
    .min(0, 'PORT must be between 0 and 65535')
    .max(65535, 'PORT must be between 0 and 65535')
    .default(8787),
  HOST: z.string().min(1).optional(),
  LOG_LEVEL: oneOf(
    'LOG_LEVEL',
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    'info',
  ),
  KEYSTASH_DATA_DIR: z.string().min(1).default('.keystash'),
  KEYSTASH_PUBLIC_URL: z.url({ error: 'KEYSTASH_PUBLIC_URL must be an absolute URL' }).optional(),

  AWS_REGION: z.string().min(1).optional(),
  KEYSTASH_TABLE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'KEYSTASH_TABLE must be a DynamoDB table name')
    .optional(),
  KEYSTASH_KMS_KEY_ID: z.string().min(1).optional(),
  KEYSTASH_DYNAMODB_ENDPOINT: z
    .url({ error: 'KEYSTASH_DYNAMODB_ENDPOINT must be a URL' })
    .optional(),
  KEYSTASH_KMS_ENDPOINT: z.url({ error: 'KEYSTASH_KMS_ENDPOINT must be a URL' }).optional(),
  KEYSTASH_STS_ENDPOINT: z.url({ error: 'KEYSTASH_STS_ENDPOINT must be a URL' }).optional(),

  KEYSTASH_ISSUER: z.string().min(1).optional(),
  KEYSTASH_AUDIENCE: z.string().min(1).default('keystash'),
  KEYSTASH_SIGNUP: oneOf('KEYSTASH_SIGNUP', ['enabled', 'disabled'] as const, 'enabled'),
  KEYSTASH_SESSION_TTL_SECONDS: seconds('KEYSTASH_SESSION_TTL_SECONDS', 12 * 3600, 30 * 86400),
  KEYSTASH_DEVICE_CODE_TTL_SECONDS: seconds('KEYSTASH_DEVICE_CODE_TTL_SECONDS', 600, 600).refine(
    (value) => value >= 1,
    'KEYSTASH_DEVICE_CODE_TTL_SECONDS must be at least 1',
  ),
  KEYSTASH_DEVICE_POLL_SECONDS: seconds('KEYSTASH_DEVICE_POLL_SECONDS', 5, 60).refine(
    (value) => value >= 1,
    'KEYSTASH_DEVICE_POLL_SECONDS must be at least 1',
  ),
  KEYSTASH_DEVICE_SESSION_TTL_SECONDS: seconds(
    'KEYSTASH_DEVICE_SESSION_TTL_SECONDS',
    4 * 3600,
    30 * 86400,
  ),
  KEYSTASH_TOKEN_MAX_TTL_SECONDS: seconds(
    'KEYSTASH_TOKEN_MAX_TTL_SECONDS',
    90 * 86400,
    MAX_TOKEN_TTL_SECONDS,
  ),

  KEYSTASH_DEK_CACHE_TTL_SECONDS: seconds('KEYSTASH_DEK_CACHE_TTL_SECONDS', 300, 3600),
  KEYSTASH_DEK_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  KEYSTASH_RECORD_CACHE_MS: z.coerce
    .number({ error: 'KEYSTASH_RECORD_CACHE_MS must be a number of milliseconds' })
    .int()
    .min(0, 'KEYSTASH_RECORD_CACHE_MS must be 0 or more')
    .max(60_000, 'KEYSTASH_RECORD_CACHE_MS must be at most 60000')
    .default(1000),
  KEYSTASH_TRUSTED_PROXIES: z
    .string()
    .transform((list, ctx) => {
      const ranges: string[] = []
      for (const entry of list
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        const range = canonicalCidr(entry)
        if (range === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `KEYSTASH_TRUSTED_PROXIES: "${entry.slice(0, 64)}" is not an IP address or CIDR range`,
          })
          return z.NEVER
        }
        ranges.push(range)
      }
      return ranges
    })
    .optional(),
  KEYSTASH_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(64 * 1024),

  KEYSTASH_MOCK_DEVELOPMENT: guardrail('KEYSTASH_MOCK_DEVELOPMENT'),
  KEYSTASH_MOCK_STAGING: guardrail('KEYSTASH_MOCK_STAGING'),
  KEYSTASH_MOCK_PRODUCTION: oneOf(
    'KEYSTASH_MOCK_PRODUCTION',
    ['none', 'force-mock', 'force-live', 'forbid-mock'] as const,
    'forbid-mock',
  ),

  KEYSTASH_MOCK_SECRET: z
    .string()
    .min(32, 'KEYSTASH_MOCK_SECRET must be at least 32 characters')
    .optional(),

  KEYSTASH_AUDIT_MODE: oneOf(
    'KEYSTASH_AUDIT_MODE',
    ['buffered', 'strict', 'off'] as const,
    'buffered',
  ),
  KEYSTASH_AUDIT_WRITER: z
    .enum(['thread', 'inline'], { error: 'KEYSTASH_AUDIT_WRITER must be one of: thread, inline' })
    .optional(),
  KEYSTASH_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  KEYSTASH_METRICS_PORT: z
    .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], {
      error: 'KEYSTASH_METRICS_PORT must be a port number or off',
    })
    .optional(),
  KEYSTASH_METRICS_HOST: z.string().min(1).optional(),
  KEYSTASH_METRICS_TOKEN: z
    .string()
    .min(32, 'KEYSTASH_METRICS_TOKEN must be at least 32 characters')
    .optional(),

  KEYSTASH_RATE_LIMIT_TOKEN_RPS: perSecond('KEYSTASH_RATE_LIMIT_TOKEN_RPS', 100),
  KEYSTASH_RATE_LIMIT_TOKEN_BURST: burst('KEYSTASH_RATE_LIMIT_TOKEN_BURST'),
  KEYSTASH_RATE_LIMIT_ORG_RPS: perSecond('KEYSTASH_RATE_LIMIT_ORG_RPS', 1000),
  KEYSTASH_RATE_LIMIT_ORG_BURST: burst('KEYSTASH_RATE_LIMIT_ORG_BURST'),
  KEYSTASH_RATE_LIMIT_SYNC_MS: z.coerce
    .number({ error: 'KEYSTASH_RATE_LIMIT_SYNC_MS must be a number of milliseconds' })
    .int('KEYSTASH_RATE_LIMIT_SYNC_MS must be a whole number of milliseconds')
    .min(0, 'KEYSTASH_RATE_LIMIT_SYNC_MS must be 0 (no exchange) or more')
    .max(60_000, 'KEYSTASH_RATE_LIMIT_SYNC_MS must be at most 60000')
    .default(1000),

  KEYSTASH_UNUSED_AFTER_DAYS: z.coerce
    .number({ error: 'KEYSTASH_UNUSED_AFTER_DAYS must be a whole number of days' })
    .int('KEYSTASH_UNUSED_AFTER_DAYS must be a whole number of days')
    .min(1, 'KEYSTASH_UNUSED_AFTER_DAYS must be at least 1')
    .max(3650, 'KEYSTASH_UNUSED_AFTER_DAYS must be at most 3650')
    .default(90),
  KEYSTASH_USAGE_COUNTERS: oneOf('KEYSTASH_USAGE_COUNTERS', ['on', 'off'] as const, 'on'),
  KEYSTASH_REENCRYPT_RATE: z.coerce
    .number({ error: 'KEYSTASH_REENCRYPT_RATE must be a number of records per second' })
    .int('KEYSTASH_REENCRYPT_RATE must be a whole number of records per second')
    .min(1, 'KEYSTASH_REENCRYPT_RATE must be at least 1')
    .max(100_000, 'KEYSTASH_REENCRYPT_RATE must be at most 100000')
    .default(200),
  KEYSTASH_SHUTDOWN_DRAIN_SECONDS: seconds('KEYSTASH_SHUTDOWN_DRAIN_SECONDS', 0, 3600),
  KEYSTASH_SHUTDOWN_GRACE_SECONDS: seconds('KEYSTASH_SHUTDOWN_GRACE_SECONDS', 10, 3600),

  KEYSTASH_OIDC_JWKS_COOLDOWN_SECONDS: seconds('KEYSTASH_OIDC_JWKS_COOLDOWN_SECONDS', 30, 3600),
  KEYSTASH_OUTBOUND_ALLOW_HOSTS: z.string().optional(),
  KEYSTASH_OUTBOUND_ALLOW_LOCAL: oneOf(
    'KEYSTASH_OUTBOUND_ALLOW_LOCAL',
    ['true', 'false'] as const,
    'false',
  ),
  KEYSTASH_OUTBOUND_CONNECT_TIMEOUT_MS: milliseconds('KEYSTASH_OUTBOUND_CONNECT_TIMEOUT_MS', 5_000),
  KEYSTASH_OUTBOUND_TIMEOUT_MS: milliseconds('KEYSTASH_OUTBOUND_TIMEOUT_MS', 10_000),
  KEYSTASH_OUTBOUND_MAX_BYTES: z.coerce
    .number({ error: 'KEYSTASH_OUTBOUND_MAX_BYTES must be a number of bytes' })
    .int('KEYSTASH_OUTBOUND_MAX_BYTES must be a whole number of bytes')
    .min(1024, 'KEYSTASH_OUTBOUND_MAX_BYTES must be at least 1024')
    .max(16 * 1024 * 1024, 'KEYSTASH_OUTBOUND_MAX_BYTES must be at most 16777216')
    .default(1024 * 1024),
  KEYSTASH_REKEY_TICK_SECONDS: seconds('KEYSTASH_REKEY_TICK_SECONDS', 60, 86_400),
  KEYSTASH_SMTP_URL: z
    .url({
      protocol: /^smtps?$/,
      error: 'KEYSTASH_SMTP_URL must be an smtp:// or smtps:// URL',
    })
    .optional(),
  KEYSTASH_MAIL_FROM: z
    .string()
    .min(3)
    .max(254)
    .regex(/@/, 'KEYSTASH_MAIL_FROM must be an e-mail address (optionally "Name <address>")')
    .default('Keystash <keystash@localhost>'),
  KEYSTASH_KMS_ALLOWED_REGIONS: z
    .string()
    .regex(
      /^\s*[a-z]{2}(-[a-z]+)+-\d+\s*(,\s*[a-z]{2}(-[a-z]+)+-\d+\s*)*$/,
      'KEYSTASH_KMS_ALLOWED_REGIONS must be a comma-separated list of AWS regions',
    )
    .optional(),
})
