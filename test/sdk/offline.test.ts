import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { readEnv } from '../../sdk/src/core/env.ts'
import {
  Keystash,
  KeystashError,
  OFFLINE_MOCK_SECRET,
  providerForRef,
} from '../../sdk/src/index.ts'
import { fakeValue } from '../../src/mock/fake-values.ts'

/** A fetch that must never be called. */
function forbiddenFetch() {
  const calls: string[] = []
  const fetch = async (input: string) => {
    calls.push(input)
    throw new Error('offline mock mode touched the network')
  }
  return { fetch, calls }
}

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('offline mock mode', () => {
  it('returns provider-shaped fake values with no network and no server', async () => {
    const net = forbiddenFetch()
    const sdk = new Keystash({ mock: true, fetch: net.fetch })
    const result = await sdk.keys.getValue('openai')
    expect(result).toMatchObject({
      keyId: 'openai',
      name: 'openai',
      provider: 'openai',
      version: 1,
    })
    expect(result.mode).toEqual({
      environment: 'development',
      effective: 'mock',
      source: 'offline',
    })
    expect(result.value).toMatch(/^sk-proj-mock[\w-]{152}$/)
    expect((await sdk.keys.getValue('stripe')).value).toMatch(/^sk_test_mock[A-Za-z0-9]{95}$/)
    expect((await sdk.keys.getValue('aws-access-key-id')).value).toMatch(/^AKIA[A-Z2-7]{9}EXAMPLE$/)
    expect(net.calls).toEqual([])
  })

  it('makes the same values as the server code, from the documented public secret', async () => {
    const sdk = new Keystash({ mock: true, fetch: forbiddenFetch().fetch })
    for (const version of [1, 2]) {
      const expected = await fakeValue({
        secret: OFFLINE_MOCK_SECRET,
        tenantId: 'offline',
        keyId: 'anthropic-main',
        version,
        provider: 'anthropic',
      })
      expect((await sdk.keys.getValue('anthropic-main', { version })).value).toBe(expected)
    }
    const again = new Keystash({ mock: true, fetch: forbiddenFetch().fetch })
    expect((await again.keys.getValue('openai')).value).toBe(
      (await sdk.keys.getValue('openai')).value,
    )
  })

  it('pins values from the options and at run time', async () => {
    const sdk = new Keystash({
      mock: { values: { openai: 'sk-pinned' }, providers: { payments: 'stripe-secret' } },
      fetch: forbiddenFetch().fetch,
    })
    expect((await sdk.keys.getValue('openai')).value).toBe('sk-pinned')
    expect((await sdk.keys.getValue('openai', { version: 7 })).value).toBe('sk-pinned')
    expect((await sdk.keys.getValue('payments')).value).toMatch(/^sk_test_mock/)
    sdk.mock?.set('payments', 'sk_test_fixed')
    expect((await sdk.keys.getValue('payments')).value).toBe('sk_test_fixed')
    sdk.mock?.delete('payments')
    expect((await sdk.keys.getValue('payments')).value).toMatch(/^sk_test_mock/)
  })

  it('guesses the provider from the ref', () => {
    expect(providerForRef('openai')).toBe('openai')
    expect(providerForRef('OpenAI-prod')).toBe('openai')
    expect(providerForRef('anthropic_main')).toBe('anthropic')
    expect(providerForRef('stripe')).toBe('stripe-secret')
    expect(providerForRef('stripe-publishable')).toBe('stripe-publishable')
    expect(providerForRef('stripe-publishable-eu')).toBe('stripe-publishable')
    expect(providerForRef('openaix')).toBe('generic')
    expect(providerForRef('my-key')).toBe('generic')
  })

  it('turns on with KEYSTASH_MOCK=1, and mock: false turns it off again', async () => {
    vi.stubEnv('KEYSTASH_MOCK', '1')
    vi.stubEnv('KEYSTASH_URL', '')
    vi.stubEnv('KEYSTASH_TOKEN', '')
    const sdk = new Keystash({ fetch: forbiddenFetch().fetch })
    expect((await sdk.keys.getValue('sendgrid')).value).toMatch(/^SG\.mock/)
    expect(sdk.mock).not.toBeNull()
    expect(() => new Keystash({ mock: false })).toThrow(KeystashError)
  })

  it('serves nothing else offline, and says so', async () => {
    const net = forbiddenFetch()
    const sdk = new Keystash({ mock: true, fetch: net.fetch })
    const error = await sdk.keys
      .list()
      .page()
      .catch((e) => e)
    expect(error).toBeInstanceOf(KeystashError)
    expect(error.code).toBe('missing_configuration')
    expect(net.calls).toEqual([])
  })
})

describe('configuration', () => {
  it('reads KEYSTASH_URL and KEYSTASH_TOKEN', async () => {
    vi.stubEnv('KEYSTASH_URL', 'http://keystash.test/')
    vi.stubEnv('KEYSTASH_TOKEN', 'a.b.c')
    const seen: Array<{ url: string; auth: string | null }> = []
    const sdk = new Keystash({
      fetch: async (url, init) => {
        seen.push({ url, auth: new Headers(init.headers).get('authorization') })
        return Response.json({ kind: 'access' })
      },
    })
    await sdk.me()
    expect(seen).toEqual([{ url: 'http://keystash.test/v1/me', auth: 'Bearer a.b.c' }])
  })

  it('refuses to start without a URL or token, naming what is missing', () => {
    vi.stubEnv('KEYSTASH_URL', '')
    vi.stubEnv('KEYSTASH_TOKEN', '')
    vi.stubEnv('KEYSTASH_MOCK', '')
    expect(() => new Keystash()).toThrow(/KEYSTASH_URL/)
    expect(() => new Keystash({ baseUrl: 'http://x.test' })).toThrow(/KEYSTASH_TOKEN/)
    expect(() => new Keystash({ baseUrl: 'not a url', token: 't' })).toThrow(TypeError)
    expect(() => new Keystash({ baseUrl: 'http://x.test', token: 't', maxRetries: -1 })).toThrow()
  })

  it('reads the environment defensively where process is missing or refuses access', () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'process')
    const read = (value: PropertyDescriptor) => {
      Object.defineProperty(globalThis, 'process', { ...value, configurable: true })
      try {
        return readEnv('KEYSTASH_URL')
      } finally {
        Object.defineProperty(globalThis, 'process', descriptor as PropertyDescriptor)
      }
    }
    expect(read({ value: undefined })).toBeUndefined()
    expect(
      read({
        get() {
          throw new Error('Requires env access')
        },
      }),
    ).toBeUndefined()
  })
})

describe('the runtime path', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
  const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g

  /** Every file sdk/src/index.ts loads at run time (type-only imports excluded). */
  function runtimeFiles(): Map<string, string[]> {
    const files = new Map<string, string[]>()
    const visit = (file: string) => {
      if (files.has(file)) return
      const source = readFileSync(file, 'utf8')
      const specifiers = [...source.matchAll(IMPORT)]
        .filter((m) => !/^\s*(?:import|export)\s+type\s/.test(m[0].trim()))
        .map((m) => m[1] ?? m[2] ?? '')
      files.set(file, specifiers)
      for (const s of specifiers) if (s.startsWith('.')) visit(resolve(dirname(file), s))
    }
    visit(resolve(root, 'sdk/src/index.ts'))
    return files
  }

  it('imports nothing but our own files: no node: modules, no packages', () => {
    const files = runtimeFiles()
    expect(files.size).toBeGreaterThan(10)
    expect([...files.keys()]).toContain(resolve(root, 'sdk/src/mock/fake-values.ts'))
    for (const [file, specifiers] of files) {
      expect(file.startsWith(resolve(root, 'sdk/src'))).toBe(true)
      for (const s of specifiers)
        expect({ file, import: s }).toEqual({ file, import: expect.stringMatching(/^\.\.?\//) })
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
      expect({ file, code }).not.toEqual({
        file,
        code: expect.stringMatching(/\bBuffer\b|\bprocess\.env\b|require\(/),
      })
    }
  })
})
