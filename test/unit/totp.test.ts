import { describe, expect, it } from 'vitest'
import {
  hashRecoveryCode,
  newRecoveryCodes,
  normalizeRecoveryCode,
} from '../../src/auth/recovery-codes.ts'
import { newTotpEnrolment, totpCodeAt, totpStepOf } from '../../src/auth/totp.ts'
import { createTotpSeedSealer } from '../../src/auth/totp-seed-sealer.ts'
import { createMemoryKeyProvider } from '../../src/kms/memory.ts'

// RFC 6238 appendix B's SHA-1 seed ("12345678901234567890") in base32.
const RFC_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'

describe('TOTP', () => {
  it('produces the RFC 6238 test vectors (six-digit truncation)', () => {
    expect(totpCodeAt(RFC_SEED, 59_000)).toBe('287082')
    expect(totpCodeAt(RFC_SEED, 1_111_111_109_000)).toBe('081804')
    expect(totpCodeAt(RFC_SEED, 2_000_000_000_000)).toBe('279037')
  })

  it('finds the step of a code within one step either side, and no further', () => {
    const now = 1_700_000_015_000
    const step = Math.floor(now / 30_000)
    expect(totpStepOf(RFC_SEED, totpCodeAt(RFC_SEED, now), now)).toBe(step)
    expect(totpStepOf(RFC_SEED, totpCodeAt(RFC_SEED, now - 30_000), now)).toBe(step - 1)
    expect(totpStepOf(RFC_SEED, totpCodeAt(RFC_SEED, now + 30_000), now)).toBe(step + 1)
    const twoAway = totpCodeAt(RFC_SEED, now + 60_000)
    const near = [-1, 0, 1].map((d) => totpCodeAt(RFC_SEED, now + d * 30_000))
    if (!near.includes(twoAway)) expect(totpStepOf(RFC_SEED, twoAway, now)).toBeUndefined()
  })

  it('reads codes typed with spaces and refuses anything but six digits', () => {
    const now = 1_700_000_015_000
    const code = totpCodeAt(RFC_SEED, now)
    expect(totpStepOf(RFC_SEED, `${code.slice(0, 3)} ${code.slice(3)}`, now)).toBeDefined()
    for (const bad of ['', '12345', '1234567', 'abcdef', `${code}0`]) {
      expect(totpStepOf(RFC_SEED, bad, now)).toBeUndefined()
    }
  })

  it('makes a new 160-bit seed each time, in a URI apps read', () => {
    const a = newTotpEnrolment('ada@example.com', 'Keystash (vault.example.com)')
    const b = newTotpEnrolment('ada@example.com', 'Keystash')
    expect(a.secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(a.secret).not.toBe(b.secret)
    const uri = new URL(a.uri)
    expect(uri.protocol).toBe('otpauth:')
    expect(uri.searchParams.get('secret')).toBe(a.secret)
    expect(uri.searchParams.get('digits')).toBe('6')
    expect(uri.searchParams.get('period')).toBe('30')
  })
})

describe('recovery codes', () => {
  it('are ten distinct codes of 16 characters', () => {
    const codes = newRecoveryCodes()
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const code of codes)
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/)
  })

  it('hash the same however they are typed, and differently per person', () => {
    const [code = ''] = newRecoveryCodes(1)
    const typed = ` ${code.toLowerCase().replaceAll('-', ' ')} `
    expect(normalizeRecoveryCode(typed)).toBe(code.replaceAll('-', ''))
    expect(hashRecoveryCode('usr_a', typed)).toBe(hashRecoveryCode('usr_a', code))
    expect(hashRecoveryCode('usr_b', code)).not.toBe(hashRecoveryCode('usr_a', code))
    expect(hashRecoveryCode('usr_a', code)).not.toContain(code.replaceAll('-', ''))
  })
})

describe('sealed seeds', () => {
  it('open only at their own person and enrolment', async () => {
    const sealer = createTotpSeedSealer(createMemoryKeyProvider())
    const place = { userId: 'usr_a', enrolmentId: 'mfa_1' }
    const sealed = await sealer.seal(place, RFC_SEED)
    expect(Buffer.from(JSON.stringify(sealed)).includes(RFC_SEED)).toBe(false)
    expect(await sealer.open(place, sealed)).toBe(RFC_SEED)
    for (const moved of [
      { userId: 'usr_b', enrolmentId: 'mfa_1' },
      { userId: 'usr_a', enrolmentId: 'mfa_2' },
    ]) {
      await expect(sealer.open(moved, sealed)).rejects.toMatchObject({ code: 'decryption_failed' })
    }
  })
})
