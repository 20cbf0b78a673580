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
