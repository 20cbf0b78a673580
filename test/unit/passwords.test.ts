import { hash, parseOptions, verify } from '@node-rs/argon2'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ARGON2_MEMORY_COST_KIB,
  ARGON2_PARALLELISM,
  ARGON2_TIME_COST,
  checkPasswordPolicy,
  hashPassword,
  needsRehash,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  verifyAgainstDummy,
  verifyLogin,
  verifyPassword,
} from '../../src/auth/passwords.ts'
import { AppError } from '../../src/errors.ts'

// Spy on the real argon2 verify so the tests can see which hash each path checks against.
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@node-rs/argon2')>()
  return { ...actual, verify: vi.fn(actual.verify) }
})

const password = 'correct horse battery staple'

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` */
function parsePhc(phc: string) {
  const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(
    phc,
  )
  if (match === null) throw new Error('not a PHC argon2 string')
  const [, algorithm, version, m, t, p] = match
  return { algorithm, version: Number(version), m: Number(m), t: Number(t), p: Number(p) }
}

function policyError(candidate: string): AppError | undefined {
  try {
    checkPasswordPolicy(candidate)
    return undefined
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
}

beforeEach(() => {
  vi.mocked(verify).mockClear()
})

describe('hashPassword', () => {
  it('produces argon2id at or above OWASP parameters', async () => {
    expect(ARGON2_MEMORY_COST_KIB).toBeGreaterThanOrEqual(19_456)
    expect(ARGON2_TIME_COST).toBeGreaterThanOrEqual(2)
    expect(ARGON2_PARALLELISM).toBe(1)
    const phc = parsePhc(await hashPassword(password))
    expect(phc.algorithm).toBe('argon2id')
    expect(phc.version).toBe(19)
    expect(phc.m).toBeGreaterThanOrEqual(19_456)
    expect(phc.t).toBeGreaterThanOrEqual(2)
    expect(phc.p).toBe(1)
  })

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword(password)).not.toBe(await hashPassword(password))
  })

  it('refuses a password outside the policy without hashing it', async () => {
    await expect(hashPassword('short')).rejects.toMatchObject({ code: 'validation_failed' })
  })
})

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const stored = await hashPassword(password)
    expect(await verifyPassword(stored, password)).toBe(true)
    expect(await verifyPassword(stored, `${password}!`)).toBe(false)
  })

  it('treats composed and decomposed accents as the same password', async () => {
    const stored = await hashPassword('mot de passe \u00e9t\u00e9')
    expect(await verifyPassword(stored, 'mot de passe e\u0301te\u0301')).toBe(true)
  })

  it('fails on a malformed stored hash without quoting the password', async () => {
    const error = await verifyPassword('not-a-hash', password).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(String((error as Error).message)).not.toContain(password)
  })
})

describe('unknown e-mail path', () => {
  it('verifyAgainstDummy runs a real argon2id verification with current parameters', async () => {
    expect(await verifyAgainstDummy(password)).toBe(false)
    expect(vi.mocked(verify)).toHaveBeenCalledTimes(1)
    const [dummy, checked] = vi.mocked(verify).mock.calls[0] ?? []
    expect(checked).toBe(password)
    const phc = parsePhc(String(dummy))
    expect(phc).toMatchObject({
      algorithm: 'argon2id',
      m: ARGON2_MEMORY_COST_KIB,
      t: ARGON2_TIME_COST,
    })
  })

  it('computes the dummy hash once and reuses it', async () => {
    await verifyAgainstDummy('first attempt 1234')
    await verifyAgainstDummy('second attempt 1234')
    const hashes = vi.mocked(verify).mock.calls.map(([stored]) => stored)
    expect(hashes).toHaveLength(2)
    expect(hashes[0]).toBe(hashes[1])
  })

  it('verifyLogin takes the dummy path for an unknown user and the real one otherwise', async () => {
    const stored = await hashPassword(password)
    expect(await verifyLogin(undefined, password)).toBe(false)
    expect(await verifyLogin(stored, password)).toBe(true)
    expect(await verifyLogin(stored, 'wrong password 123')).toBe(false)
    const calls = vi.mocked(verify).mock.calls
    expect(calls).toHaveLength(3)
    expect(calls[0]?.[0]).not.toBe(stored)
    expect(calls[1]?.[0]).toBe(stored)
  })
})

describe('needsRehash', () => {
  it('is false for a hash made with the current parameters', async () => {
    expect(needsRehash(await hashPassword(password))).toBe(false)
  })

  it('is true for weaker memory or time cost, another variant, or garbage', async () => {
    const weakMemory = await hash(password, { memoryCost: 8192, timeCost: 2, parallelism: 1 })
    const weakTime = await hash(password, { memoryCost: 19_456, timeCost: 1, parallelism: 1 })
    const argon2i = await hash(password, { algorithm: 1 as never })
    expect(parseOptions(weakMemory).memoryCost).toBe(8192)
    expect(needsRehash(weakMemory)).toBe(true)
    expect(needsRehash(weakTime)).toBe(true)
    expect(needsRehash(argon2i)).toBe(true)
    expect(needsRehash('$2b$10$notargon')).toBe(true)
  })

  it('is false for stronger parameters', async () => {
    const stronger = await hash(password, { memoryCost: 32_768, timeCost: 3, parallelism: 1 })
    expect(needsRehash(stronger)).toBe(false)
  })
})

describe('password policy', () => {
  it(`accepts ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, () => {
    expect(PASSWORD_MIN_LENGTH).toBe(12)
    expect(PASSWORD_MAX_LENGTH).toBe(256)
    expect(policyError('a'.repeat(12))).toBeUndefined()
    expect(policyError('a'.repeat(256))).toBeUndefined()
  })

  it('refuses 11 and 257 characters with validation_failed', () => {
    for (const candidate of ['a'.repeat(11), 'a'.repeat(257), '']) {
      const error = policyError(candidate)
      expect(error?.code).toBe('validation_failed')
      expect(error?.detail).toContain('between 12 and 256')
      expect(error?.detail).not.toContain(candidate || '\u0000')
    }
  })

  it('counts characters, not UTF-16 units or bytes', () => {
    expect(policyError('\u{1F511}'.repeat(12))).toBeUndefined() // 24 UTF-16 units
    expect(policyError('\u{1F511}'.repeat(11))?.code).toBe('validation_failed')
    expect(policyError('e\u0301'.repeat(11))?.code).toBe('validation_failed') // 11 after NFC
    expect(policyError('\u{1F511}'.repeat(256))).toBeUndefined()
  })
})
