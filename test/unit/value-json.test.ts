import { describe, expect, it } from 'vitest'
import type { RevealedValue } from '../../src/domain/key-values.ts'
import { valueAnswer, valueJson } from '../../src/reads/answer.ts'

const record = (over: Record<string, unknown> = {}) =>
  ({
    keyId: 'key_1',
    name: 'openai',
    provider: 'openai',
    ...over,
  }) as unknown as RevealedValue['record']
const live = { environment: 'production', effective: 'live', source: 'guardrail' } as const

const bodyOf = (r: RevealedValue) =>
  JSON.stringify({
    keyId: r.record.keyId,
    name: r.record.name,
    provider: r.record.provider,
    version: r.version,
    value: r.value,
    mode: r.mode,
  })

describe('value answer body', () => {
  it('is exactly JSON.stringify of the KeyValue body, whatever the strings hold', () => {
    const values = [
      'sk-1',
      '',
      ' ',
      'naïve ☃ 🔑',
      'quote " backslash \\ ,"value":"" \n\t\u0000',
      'x'.repeat(16384),
    ]
    const providers = ['openai', 'a "quoted", provider', '"value":""', 'ünïcode']
    for (const value of values) {
      for (const provider of providers) {
        const r = { record: record({ provider }), version: 3, value, mode: live }
        expect(valueJson(r)).toBe(bodyOf(r))
        expect(JSON.parse(valueJson(r))).toEqual(JSON.parse(bodyOf(r)))
      }
    }
  })

  it('follows the version and the mode of each read of the same record object', () => {
    const same = record()
    const reads: RevealedValue[] = [
      { record: same, version: 1, value: 'v1', mode: live },
      { record: same, version: 2, value: 'v2', mode: live },
      { record: same, version: 2, value: 'v2', mode: { ...live, effective: 'mock' } },
      { record: same, version: 2, value: 'v2', mode: { ...live, source: 'key_override' } },
      {
        record: same,
        version: 2,
        value: 'v2',
        mode: { environment: 'staging', effective: 'live', source: 'environment_default' },
      },
      { record: same, version: 1, value: 'v1', mode: live },
    ]
    for (const r of reads) expect(valueJson(r)).toBe(bodyOf(r))
  })

  it('is the body of the answer, with no-store and Keystash-Mode', async () => {
    const r = { record: record(), version: 1, value: 'sk-1', mode: live }
    const answer = valueAnswer('req_1', r)
    expect(answer.headers.get('cache-control')).toBe('no-store')
    expect(answer.headers.get('keystash-mode')).toBe('live')
    expect(answer.headers.get('x-request-id')).toBe('req_1')
    expect(await answer.text()).toBe(bodyOf(r))
  })
})
