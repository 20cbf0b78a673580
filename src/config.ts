import type { z } from 'zod'
import { envSchema, MAX_TOKEN_TTL_SECONDS } from './config/env-schema.ts'
import { parseAllowList } from './net/address-policy.ts'

export { MAX_TOKEN_TTL_SECONDS }

/**
 * The whole configuration, read once from the environment at start-up and frozen. Nothing
 * else in the code base reads `process.env`.
 *
 * Development mode is what you get with no configuration: the server spawns DynamoDB Local and
 * the local KMS under the data directory. Production mode starts when the AWS settings are
 * present (`KEYSTASH_TABLE`, `AWS_REGION`, `KEYSTASH_KMS_KEY_ID`) and spawns nothing.
 */

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
    /**
     * Device logins (the CLI): how long a code waits for approval (at most 10 minutes), the
     * least seconds between polls, and the longest the device's session lives.
     */
    device: { codeSeconds: number; pollSeconds: number; sessionSeconds: number }
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
      device: {
        codeSeconds: e.KEYSTASH_DEVICE_CODE_TTL_SECONDS,
        pollSeconds: e.KEYSTASH_DEVICE_POLL_SECONDS,
        sessionSeconds: e.KEYSTASH_DEVICE_SESSION_TTL_SECONDS,
      },
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
