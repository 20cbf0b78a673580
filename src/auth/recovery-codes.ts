import { createHash, randomBytes } from 'node:crypto'

export const RECOVERY_CODE_COUNT = 10

/** Crockford's base32 without the letters people confuse (I, L, O, U). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * Ten single-use codes of 80 random bits each, written `XXXX-XXXX-XXXX-XXXX`. At 80 bits a
 * plain SHA-256 is enough to store them: nobody can search that space, so a slow password hash
 * would only slow down each login that uses one.
 */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10)
    let bits = 0n
    for (const byte of bytes) bits = (bits << 8n) | BigInt(byte)
    let text = ''
    for (let i = 0; i < 16; i++) {
      text = ALPHABET[Number(bits & 31n)] + text
      bits >>= 5n
    }
    return text.match(/.{4}/g)?.join('-') ?? text
  })
}

/** As typed: case, spaces and dashes do not matter; letters people confuse read as digits. */
export function normalizeRecoveryCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0')
}

/** What is stored: bound to its person, so the same code of two people stores differently. */
export function hashRecoveryCode(userId: string, code: string): string {
  return createHash('sha256')
    .update(`keystash-recovery:${userId}:${normalizeRecoveryCode(code)}`)
    .digest('base64url')
}
