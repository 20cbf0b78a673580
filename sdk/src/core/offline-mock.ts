/**
 * Offline mock mode: `keys.getValue` answers without any network, with fake values shaped like
 * the server's mock values, made by the very same code: the server's src/mock files, copied
 * into ../mock by `npm run sdk:mock` (WebCrypto-only, so they run wherever the SDK does).
 *
 * The server derives its fakes from a secret of its own; offline there is none, so the SDK
 * uses OFFLINE_MOCK_SECRET, a fixed public string, with tenant `offline`, the ref as key id
 * and the requested version (default 1). Anyone can compute these values: they are fake, and
 * only deterministic so that tests and snapshots stay stable.
 */
import { fakeValue, type Provider, providers } from '../mock/fake-values.ts'
import type { Environment, GetValueResult } from '../types.ts'

export const OFFLINE_MOCK_SECRET = 'keystash/offline-mock-secret/v1 (public; values are fake)'
export const OFFLINE_TENANT_ID = 'offline'

export interface MockOptions {
  /** Values to return for these refs instead of generated fakes (`{ openai: 'sk-test' }`). */
  values?: Record<string, string>
  /**
   * The provider whose shape a ref's fake takes. By default it comes from the ref's name:
   * `openai`, `openai-prod`, `anthropic_main`, `stripe` (secret key), else `generic`.
   */
  providers?: Record<string, Provider>
  /** Reported in `mode.environment`. Default `development`. */
  environment?: Environment
}

const ALIASES: Record<string, Provider> = { stripe: 'stripe-secret', github: 'github-pat' }
const BY_LENGTH = [...providers, ...Object.keys(ALIASES)].sort((a, b) => b.length - a.length)

/** The provider a ref's name suggests: the longest provider name it equals or starts with. */
export function providerForRef(ref: string): Provider {
  const lower = ref.toLowerCase()
  const match = BY_LENGTH.find(
    (p) => lower === p || (lower.startsWith(p) && /^[-_.:/]/.test(lower.slice(p.length))),
  )
  if (!match) return 'generic'
  return ALIASES[match] ?? (match as Provider)
}

export type OfflineMock = ReturnType<typeof createOfflineMock>

export function createOfflineMock(options: MockOptions = {}) {
  const pinned = new Map(Object.entries(options.values ?? {}))
  const environment = options.environment ?? 'development'

  return {
    /** Pins the value `getValue(ref)` returns, for every version. */
    set(ref: string, value: string): void {
      pinned.set(ref, value)
    },
    /** Forgets a pinned value: the ref gets a generated fake again. */
    delete(ref: string): void {
      pinned.delete(ref)
    },
    clear(): void {
      pinned.clear()
    },
    async getValue(ref: string, version = 1): Promise<GetValueResult> {
      const provider = options.providers?.[ref] ?? providerForRef(ref)
      const value =
        pinned.get(ref) ??
        (await fakeValue({
          secret: OFFLINE_MOCK_SECRET,
          tenantId: OFFLINE_TENANT_ID,
          keyId: ref,
          version,
          provider,
        }))
      return {
        keyId: ref,
        name: ref,
        provider,
        version,
        value,
        mode: { environment, effective: 'mock', source: 'offline' },
      }
    },
  }
}
