import { z } from 'zod'
import { parseAllowList } from './net/address-policy.ts'
import { canonicalCidr } from './net/cidr.ts'

/**
 * The whole configuration, read once from the environment at start-up and frozen. Nothing
 * else in the code base reads `process.env`.
 *
 * Development mode is what you get with no configuration: the server spawns DynamoDB Local and
 * the local KMS under the data directory. Production mode starts when the AWS settings are
 * present (`KEYSTASH_TABLE`, `AWS_REGION`, `KEYSTASH_KMS_KEY_ID`) and spawns nothing.
 */

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

const envSchema = z.object({
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

export type Environment = 'development' | 'staging' | 'production'
export type Guardrail = 'none' | 'force-mock' | 'force-live' | 'forbid-mock'

export interface Config {
  mode: 'development' | 'production'
  port: number
  host: string
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL']
  dataDir: string
  publicUrl: string | undefined
  aws: {
    region: string
    table: string
    platformKeyId: string
    dynamodbEndpoint: string | undefined
    kmsEndpoint: string | undefined
    /** STS, for tenants' roles; the development launcher points it at the local KMS. */
    stsEndpoint: string | undefined
  }
  auth: {
    issuer: string
    audience: string
    signup: boolean
    sessionTtlSeconds: number
    tokenMaxTtlSeconds: number
  }
  cache: {
    dekTtlSeconds: number
    dekMaxEntries: number
    recordStalenessMs: number
  }
  limits: { maxBodyBytes: number }
  network: {
    /**
     * Proxies whose `X-Forwarded-For` is believed (canonical CIDRs); empty: the client is the
     * socket's peer (http/client.ts).
     */
    trustedProxies: readonly string[]
  }
  mockGuardrails: Record<Environment, Guardrail>
  mockSecret: string | undefined
  audit: {
    mode: 'buffered' | 'strict' | 'off'
    /**
     * `thread`: audit writes run on a worker thread (audit/off-thread.ts); `inline`: on the
     * request thread. By default `thread` in buffered mode, `inline` in strict mode.
     */
    writer: 'thread' | 'inline'
    retentionDays: number
  }
  /** The background re-encryption job after a tenant changes its KEK. */
  reencryption: { recordsPerSecond: number }
  /** The Prometheus endpoint's own listener; undefined: none. */
  metrics: { port: number; host: string; token: string | undefined } | undefined
  rateLimits: {
    /** Per access token or session, unless the token has its own; undefined: off. */
    token: { rate: number; burst: number } | undefined
    organization: { rate: number; burst: number } | undefined
    /** How often instances exchange their counts through DynamoDB; 0: never. */
    syncMs: number
  }
  /**
   * On SIGTERM: readiness fails at once; after `drainMs` (the load balancer's deregistration
   * delay) the server stops accepting; in-flight requests then get at most `graceMs`.
   */
  shutdown: { drainMs: number; graceMs: number }
  /** Reminders (key.unused, token.unused) for keys and tokens not used for this many days. */
  reminders: { unusedAfterDays: number }
  /** Reads per key and token per day, counted in memory and flushed once a minute. */
  usage: { enabled: boolean }
  /**
   * Requests to URLs that tenants supply (net/outbound.ts). `allowPrivateHosts` is the
   * operator's list of private host names, addresses or CIDR networks that may be reached;
   * `allowLocal` opens loopback, private addresses and plain http, for development and tests.
   */
  /** Workload identity federation: least seconds between two fetches of an issuer's keys. */
  workloadIdentity: { jwksCooldownSeconds: number }
  outbound: {
    production: boolean
    allowPrivateHosts: readonly string[]
    allowLocal: boolean
    connectTimeoutMs: number
    totalTimeoutMs: number
    maxBytes: number
  }
  /** How often each instance looks for organizations due a re-key; 0: never. */
  rekey: { tickSeconds: number }
  /** Regions a tenant's KMS key and its replicas may live in (default: the server's region). */
  kms: { allowedRegions: readonly string[] }
  /**
   * Outgoing mail (invitations, address confirmations). Without `smtpUrl` no mail is sent:
   * an invitation's link is shown once to its inviter, and sign-up confirms nothing.
   */
  mail: { smtpUrl: string | undefined; from: string }
  /**
   * The base of every link the server hands out (invitations, confirmations):
   * `KEYSTASH_PUBLIC_URL`, or in development the address it listens on; never a request's
   * `Host`. Undefined in production without `KEYSTASH_PUBLIC_URL`.
   */
  linkBase: string | undefined
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Defaults for development mode; the endpoints are filled in by the launcher. */
export const DEV_TABLE = 'keystash'
export const DEV_REGION = 'us-east-1'
export const DEV_PLATFORM_KEY_ALIAS = 'alias/keystash-platform'

export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  // Empty strings mean "not set", as they do in most shells and .env files.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  )
  const parsed = envSchema.safeParse(present)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.')
      return `${name}: ${issue.message}`
    })
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  const e = parsed.data

  const awsSettings = [e.KEYSTASH_TABLE, e.AWS_REGION, e.KEYSTASH_KMS_KEY_ID]
  const production = awsSettings.some((v) => v !== undefined)
  if (production && awsSettings.some((v) => v === undefined)) {
    throw new ConfigError(
      'Invalid configuration: production mode needs all of KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID (set none of them for development mode)',
    )
  }

  const mode = production ? 'production' : 'development'
  const allowPrivateHosts = (e.KEYSTASH_OUTBOUND_ALLOW_HOSTS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
  try {
    parseAllowList(allowPrivateHosts)
  } catch (error) {
    throw new ConfigError(
      `Invalid configuration:\n  KEYSTASH_OUTBOUND_ALLOW_HOSTS: ${(error as Error).message}`,
    )
  }
  const host = e.HOST ?? (production ? '0.0.0.0' : '127.0.0.1')
  const config: Config = {
    mode,
    port: e.PORT,
    host,
    logLevel: e.LOG_LEVEL,
    dataDir: e.KEYSTASH_DATA_DIR,
    publicUrl: e.KEYSTASH_PUBLIC_URL,
    aws: {
      region: e.AWS_REGION ?? DEV_REGION,
      table: e.KEYSTASH_TABLE ?? DEV_TABLE,
      platformKeyId: e.KEYSTASH_KMS_KEY_ID ?? DEV_PLATFORM_KEY_ALIAS,
      dynamodbEndpoint: e.KEYSTASH_DYNAMODB_ENDPOINT,
      kmsEndpoint: e.KEYSTASH_KMS_ENDPOINT,
      stsEndpoint: e.KEYSTASH_STS_ENDPOINT ?? (production ? undefined : e.KEYSTASH_KMS_ENDPOINT),
    },
    auth: {
      issuer: e.KEYSTASH_ISSUER ?? 'keystash',
      audience: e.KEYSTASH_AUDIENCE,
      signup: e.KEYSTASH_SIGNUP === 'enabled',
      sessionTtlSeconds: e.KEYSTASH_SESSION_TTL_SECONDS,
      tokenMaxTtlSeconds: e.KEYSTASH_TOKEN_MAX_TTL_SECONDS,
    },
    cache: {
      dekTtlSeconds: e.KEYSTASH_DEK_CACHE_TTL_SECONDS,
      dekMaxEntries: e.KEYSTASH_DEK_CACHE_MAX_ENTRIES,
      recordStalenessMs: e.KEYSTASH_RECORD_CACHE_MS,
    },
    limits: { maxBodyBytes: e.KEYSTASH_MAX_BODY_BYTES },
    network: { trustedProxies: e.KEYSTASH_TRUSTED_PROXIES ?? [] },
    mockGuardrails: {
      development: e.KEYSTASH_MOCK_DEVELOPMENT,
      staging: e.KEYSTASH_MOCK_STAGING,
      production: e.KEYSTASH_MOCK_PRODUCTION,
    },
    mockSecret: e.KEYSTASH_MOCK_SECRET,
    audit: {
      mode: e.KEYSTASH_AUDIT_MODE,
      // Strict requests wait for their write: a hand-off between threads only adds latency.
      writer: e.KEYSTASH_AUDIT_WRITER ?? (e.KEYSTASH_AUDIT_MODE === 'strict' ? 'inline' : 'thread'),
      retentionDays: e.KEYSTASH_AUDIT_RETENTION_DAYS,
    },
    reencryption: { recordsPerSecond: e.KEYSTASH_REENCRYPT_RATE },
    shutdown: {
      drainMs: e.KEYSTASH_SHUTDOWN_DRAIN_SECONDS * 1000,
      graceMs: e.KEYSTASH_SHUTDOWN_GRACE_SECONDS * 1000,
    },
    // Development has it on; production only when asked (it must not be public by accident).
    metrics: metricsListener(e, production, host),
    rateLimits: {
      token: policy(e.KEYSTASH_RATE_LIMIT_TOKEN_RPS, e.KEYSTASH_RATE_LIMIT_TOKEN_BURST),
      organization: policy(e.KEYSTASH_RATE_LIMIT_ORG_RPS, e.KEYSTASH_RATE_LIMIT_ORG_BURST),
      syncMs: e.KEYSTASH_RATE_LIMIT_SYNC_MS,
    },
    reminders: { unusedAfterDays: e.KEYSTASH_UNUSED_AFTER_DAYS },
    workloadIdentity: { jwksCooldownSeconds: e.KEYSTASH_OIDC_JWKS_COOLDOWN_SECONDS },
    usage: { enabled: e.KEYSTASH_USAGE_COUNTERS === 'on' },
    outbound: {
      production,
      allowPrivateHosts,
      allowLocal: e.KEYSTASH_OUTBOUND_ALLOW_LOCAL === 'true',
      connectTimeoutMs: e.KEYSTASH_OUTBOUND_CONNECT_TIMEOUT_MS,
      totalTimeoutMs: e.KEYSTASH_OUTBOUND_TIMEOUT_MS,
      maxBytes: e.KEYSTASH_OUTBOUND_MAX_BYTES,
    },
    rekey: { tickSeconds: e.KEYSTASH_REKEY_TICK_SECONDS },
    mail: { smtpUrl: e.KEYSTASH_SMTP_URL, from: e.KEYSTASH_MAIL_FROM },
    linkBase: linkBase(e.KEYSTASH_PUBLIC_URL, production, host, e.PORT),
    kms: {
      allowedRegions: e.KEYSTASH_KMS_ALLOWED_REGIONS
        ? [...new Set(e.KEYSTASH_KMS_ALLOWED_REGIONS.split(',').map((r) => r.trim()))]
        : [e.AWS_REGION ?? DEV_REGION],
    },
  }
  return deepFreeze(config)
}

function linkBase(
  publicUrl: string | undefined,
  production: boolean,
  host: string,
  port: number,
): string | undefined {
  if (publicUrl) return publicUrl.replace(/\/+$/, '')
  if (production) return undefined
  const name = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`
}

/** Bursts default to five seconds' worth of the rate. */
function policy(rate: number, burst: number | undefined) {
  return rate > 0 ? { rate, burst: burst ?? Math.max(1, Math.ceil(rate * 5)) } : undefined
}

export const DEV_METRICS_PORT = 9464

function metricsListener(
  e: z.infer<typeof envSchema>,
  production: boolean,
  host: string,
): Config['metrics'] {
  const port = e.KEYSTASH_METRICS_PORT ?? (production ? 'off' : DEV_METRICS_PORT)
  if (port === 'off') return undefined
  return { port, host: e.KEYSTASH_METRICS_HOST ?? host, token: e.KEYSTASH_METRICS_TOKEN }
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child)
  }
  return Object.freeze(value)
}
