import { hash } from 'node:crypto'
import type { Principal } from './principal.ts'

/**
 * Tokens whose signature and claims were already checked, so the next request with the same
 * token skips the Ed25519 verification. Keyed by a SHA-256 of the token string (the token
 * itself is never held); entries are only good until the token's `exp`, which the reader
 * checks. Revocation is not this memo's business: token status is checked separately, within
 * its own staleness bound, on every request.
 */
export interface VerifiedTokenEntry {
  principal: Principal
  kid: string
  issuer: string
  audience: string
  /** The token's `exp`, in seconds since the epoch. */
  exp: number
}

export interface VerifiedTokenMemo {
  get(tokenHash: string): VerifiedTokenEntry | undefined
  set(tokenHash: string, entry: VerifiedTokenEntry): void
  delete(tokenHash: string): void
  readonly size: number
}

export const hashToken = (token: string): string => hash('sha256', token, 'base64url')

export function createVerifiedTokenMemo(options: { maxEntries?: number } = {}): VerifiedTokenMemo {
  const maxEntries = options.maxEntries ?? 10_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new Error('maxEntries must be a positive whole number')
  }
  // A Map iterates in insertion order: re-inserting on every hit makes the first key the
  // least recently used one.
  const entries = new Map<string, VerifiedTokenEntry>()
  return {
    get(tokenHash) {
      const entry = entries.get(tokenHash)
      if (entry === undefined) return undefined
      entries.delete(tokenHash)
      entries.set(tokenHash, entry)
      return entry
    },
    set(tokenHash, entry) {
      entries.delete(tokenHash)
      entries.set(tokenHash, entry)
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next()
        if (oldest.done) break
        entries.delete(oldest.value)
      }
    },
    delete(tokenHash) {
      entries.delete(tokenHash)
    },
    get size() {
      return entries.size
    },
  }
}
