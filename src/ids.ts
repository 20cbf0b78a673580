import { randomBytes } from 'node:crypto'

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz'

/**
 * Identifiers: a type prefix, then 26 Crockford base32 characters (48 bits of milliseconds,
 * 80 random bits), so ids sort by creation time and reveal nothing else. `tok_01j...`
 */
export type IdPrefix = 'org' | 'usr' | 'tok' | 'key' | 'kek' | 'job' | 'evt' | 'sig'

export function newId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${encodeRandom(randomBytes(10))}`
}

const ID_SHAPE = /^([a-z]{3})_[0-9a-hjkmnp-tv-z]{26}$/

/** Whether `value` is an id of this type (called on the read path: no regex built per call). */
export function isId(prefix: IdPrefix, value: string): boolean {
  return ID_SHAPE.exec(value)?.[1] === prefix
}

function encodeTime(ms: number): string {
  let out = ''
  let rest = ms
  for (let i = 0; i < 10; i++) {
    out = (CROCKFORD[rest % 32] ?? '0') + out
    rest = Math.floor(rest / 32)
  }
  return out
}

function encodeRandom(bytes: Buffer): string {
  let out = ''
  let bits = 0
  let acc = 0
  for (const byte of bytes) {
    acc = (acc << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += CROCKFORD[(acc >> bits) & 31]
    }
  }
  return out
}
