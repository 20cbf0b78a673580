import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'

describe('configuration', () => {
  it('is development mode with no configuration at all', () => {
    const config = loadConfig({})
    expect(config.mode).toBe('development')
    expect(config.port).toBe(8787)
    expect(config.host).toBe('127.0.0.1')
    expect(config.dataDir).toBe('.keystash')
    expect(config.cache.dekTtlSeconds).toBe(300)
    expect(config.cache.recordStalenessMs).toBe(1000)
    expect(config.limits.maxBodyBytes).toBe(65536)
    expect(config.mockGuardrails.production).toBe('forbid-mock')
  })

  it('is production mode when the AWS settings are present', () => {
    const config = loadConfig({
      KEYSTASH_TABLE: 'keystash-prod',
      AWS_REGION: 'eu-west-1',
      KEYSTASH_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/abc',
    })
    expect(config.mode).toBe('production')
    expect(config.host).toBe('0.0.0.0')
    expect(config.aws).toMatchObject({ table: 'keystash-prod', region: 'eu-west-1' })
  })

  it('writes the audit trail on its own thread in buffered mode, inline in strict mode', () => {
    expect(loadConfig({}).audit).toMatchObject({ mode: 'buffered', writer: 'thread' })
    expect(loadConfig({ KEYSTASH_AUDIT_MODE: 'strict' }).audit.writer).toBe('inline')
    expect(
      loadConfig({ KEYSTASH_AUDIT_MODE: 'strict', KEYSTASH_AUDIT_WRITER: 'thread' }).audit.writer,
    ).toBe('thread')
    expect(() => loadConfig({ KEYSTASH_AUDIT_WRITER: 'fork' })).toThrow(/KEYSTASH_AUDIT_WRITER/)
  })

  it('serves metrics in development, and in production only when asked', () => {
    const production = {
      KEYSTASH_TABLE: 'keystash-prod',
      AWS_REGION: 'eu-west-1',
      KEYSTASH_KMS_KEY_ID: 'alias/keystash',
    }
    expect(loadConfig({}).metrics).toEqual({ port: 9464, host: '127.0.0.1', token: undefined })
    expect(loadConfig({ KEYSTASH_METRICS_PORT: 'off' }).metrics).toBeUndefined()
    expect(loadConfig(production).metrics).toBeUndefined()
    const token = 'x'.repeat(32)
    expect(
      loadConfig({ ...production, KEYSTASH_METRICS_PORT: '9100', KEYSTASH_METRICS_TOKEN: token })
        .metrics,
    ).toEqual({ port: 9100, host: '0.0.0.0', token })
    expect(() => loadConfig({ KEYSTASH_METRICS_PORT: 'on' })).toThrow(/KEYSTASH_METRICS_PORT/)
    expect(() => loadConfig({ KEYSTASH_METRICS_TOKEN: 'short' })).toThrow(/at least 32/)
  })

  it('limits tokens and organizations by default, bursts of five seconds of the rate', () => {
    expect(loadConfig({}).rateLimits).toEqual({
      token: { rate: 100, burst: 500 },
      organization: { rate: 1000, burst: 5000 },
      syncMs: 1000,
    })
    const set = loadConfig({
      KEYSTASH_RATE_LIMIT_TOKEN_RPS: '0.5',
      KEYSTASH_RATE_LIMIT_TOKEN_BURST: '2',
      KEYSTASH_RATE_LIMIT_ORG_RPS: '0',
    }).rateLimits
    expect(set).toMatchObject({ token: { rate: 0.5, burst: 2 }, organization: undefined })
    expect(() => loadConfig({ KEYSTASH_RATE_LIMIT_TOKEN_BURST: '0' })).toThrow(
      /KEYSTASH_RATE_LIMIT_TOKEN_BURST must be at least 1/,
    )
    expect(() => loadConfig({ KEYSTASH_RATE_LIMIT_ORG_RPS: '-1' })).toThrow(
      /KEYSTASH_RATE_LIMIT_ORG_RPS/,
    )
  })

  it('refuses half a production configuration, naming what is missing', () => {
    expect(() => loadConfig({ KEYSTASH_TABLE: 'keystash-prod' })).toThrow(
      /KEYSTASH_TABLE, AWS_REGION and KEYSTASH_KMS_KEY_ID/,
    )
  })

  it.each([
    ['PORT', 'eighty', /PORT/],
    ['PORT', '70000', /PORT must be between 0 and 65535/],
    [
      'KEYSTASH_DEK_CACHE_TTL_SECONDS',
      '7200',
      /KEYSTASH_DEK_CACHE_TTL_SECONDS must be at most 3600/,
    ],
    [
      'KEYSTASH_AUDIT_MODE',
      'sometimes',
      /KEYSTASH_AUDIT_MODE must be one of: buffered, strict, off/,
    ],
    ['KEYSTASH_MOCK_PRODUCTION', 'maybe', /KEYSTASH_MOCK_PRODUCTION must be one of/],
    ['KEYSTASH_DYNAMODB_ENDPOINT', 'not a url', /KEYSTASH_DYNAMODB_ENDPOINT/],
  ])('stops on a bad %s, naming the variable and what is allowed', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [name]: value })).toThrow(message)
  })

  it('allows tenant KMS keys in the server’s region unless told otherwise', () => {
    expect(loadConfig({}).kms.allowedRegions).toEqual(['us-east-1'])
    const production = { KEYSTASH_TABLE: 't-1', KEYSTASH_KMS_KEY_ID: 'alias/k' }
    expect(loadConfig({ ...production, AWS_REGION: 'eu-west-1' }).kms.allowedRegions).toEqual([
      'eu-west-1',
    ])
    expect(
      loadConfig({ KEYSTASH_KMS_ALLOWED_REGIONS: 'eu-west-1, eu-central-1,eu-west-1' }).kms
        .allowedRegions,
    ).toEqual(['eu-west-1', 'eu-central-1'])
    expect(() => loadConfig({ KEYSTASH_KMS_ALLOWED_REGIONS: 'eu-west-1,*' })).toThrow(
      /KEYSTASH_KMS_ALLOWED_REGIONS/,
    )
  })

  it('ticks for due re-keys every minute by default; 0 turns the tick off', () => {
    expect(loadConfig({}).rekey.tickSeconds).toBe(60)
    expect(loadConfig({ KEYSTASH_REKEY_TICK_SECONDS: '0' }).rekey.tickSeconds).toBe(0)
    expect(() => loadConfig({ KEYSTASH_REKEY_TICK_SECONDS: 'soon' })).toThrow(
      /KEYSTASH_REKEY_TICK_SECONDS/,
    )
  })

  it('treats empty strings as unset and is frozen', () => {
    const config = loadConfig({ PORT: '' })
    expect(config.port).toBe(8787)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.aws)).toBe(true)
  })

  it('reads the outbound-request settings, refusing a malformed allow-list', () => {
    expect(loadConfig({}).outbound).toEqual({
      production: false,
      allowPrivateHosts: [],
      allowLocal: false,
      connectTimeoutMs: 5000,
      totalTimeoutMs: 10000,
      maxBytes: 1024 * 1024,
    })
    const config = loadConfig({
      KEYSTASH_OUTBOUND_ALLOW_HOSTS: 'issuer.corp.example, 10.8.0.0/16',
      KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'true',
      KEYSTASH_OUTBOUND_TIMEOUT_MS: '3000',
    })
    expect(config.outbound).toMatchObject({
      allowPrivateHosts: ['issuer.corp.example', '10.8.0.0/16'],
      allowLocal: true,
      totalTimeoutMs: 3000,
    })
    expect(() => loadConfig({ KEYSTASH_OUTBOUND_ALLOW_HOSTS: '10.0.0.0/40' })).toThrow(
      /KEYSTASH_OUTBOUND_ALLOW_HOSTS: not a CIDR/,
    )
    expect(() => loadConfig({ KEYSTASH_OUTBOUND_ALLOW_LOCAL: 'yes' })).toThrow(
      /KEYSTASH_OUTBOUND_ALLOW_LOCAL/,
    )
  })
})
