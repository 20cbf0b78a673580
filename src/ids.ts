import { randomFillSync } from 'node:crypto'

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz'

/**
 * Identifiers: a type prefix, then 26 Crockford base32 characters (48 bits of milliseconds,
 * 80 random bits), so ids sort by creation time and reveal nothing else. `tok_01j...`
 */
export type IdPrefix =
  | 'org'
  | 'usr'
  | 'tok'
  | 'key'
  | 'kek'
  | 'job'
  | 'evt'
  | 'sig'
  | 'whk'
  | 'msg'
  | 'trs'
  | 'mfa'
  | 'inv'

export function newId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${encodeRandom(pooled(10))}`
}

/** A request's id: `req_` and 32 hex digits (128 random bits), unrelated to time. */
export function newRequestId(): string {
  return `req_${pooled(16).toString('hex')}`
}

// Random bytes come from a pool refilled 4 KiB at a time (as uuid and randomUUID do): one
// call into the CSPRNG per few hundred ids instead of one per id, which the audit trail's id
// per request made visible. Ids are not secrets; the bytes are still the CSPRNG's, each used
// once.
const POOL = Buffer.alloc(4096)
let poolOffset = POOL.length

function pooled(size: number): Buffer {
  if (poolOffset + size > POOL.length) {
    randomFillSync(POOL)
    poolOffset = 0
  }
  poolOffset += size
  return POOL.subarray(poolOffset - size, poolOffset)
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
