import { randomBytes } from 'node:crypto'
import { type Algorithm, hash, parseOptions, type Version, verify } from '@node-rs/argon2'
import { AppError } from '../errors.ts'

/**
 * Password hashing with argon2id. `hash` and `verify` of `@node-rs/argon2` run on libuv's
 * thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), so a login never blocks
 * the event loop; each one holds ARGON2_MEMORY_COST_KIB of memory while it runs.
 */

/** OWASP's minimum for argon2id (m=19 MiB, t=2, p=1). Raising any of them rehashes on login. */
export const ARGON2_MEMORY_COST_KIB = 19_456
export const ARGON2_TIME_COST = 2
export const ARGON2_PARALLELISM = 1

/**
 * Length in Unicode code points after NFC normalisation, so a password typed on another system
 * (composed or decomposed accents) still counts, and hashes, the same. The upper bound keeps
 * hashing cheap to refuse and is far above what a password manager generates.
 */
export const PASSWORD_MIN_LENGTH = 12
export const PASSWORD_MAX_LENGTH = 256

// The package declares these as const enums, which isolatedModules cannot read; the values
// are fixed by the argon2 spec and the package's own numbering.
const ARGON2ID = 2 as Algorithm
const ARGON2_VERSION_0x13 = 1 as Version

const options = {
  algorithm: ARGON2ID,
  version: ARGON2_VERSION_0x13,
  memoryCost: ARGON2_MEMORY_COST_KIB,
  timeCost: ARGON2_TIME_COST,
  parallelism: ARGON2_PARALLELISM,
}

const normalise = (password: string) => password.normalize('NFC')

/** Throws `validation_failed` when a new password is outside the policy. */
export function checkPasswordPolicy(password: string): void {
  const length = [...normalise(password)].length
  if (length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH) return
  throw new AppError(
    'validation_failed',
    `The password must be between ${PASSWORD_MIN_LENGTH} and ${PASSWORD_MAX_LENGTH} characters long`,
    {
      extra: { field: 'password', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH },
    },
  )
}

/** Hashes a new password (checked against the policy first) into a PHC string. */
export async function hashPassword(password: string): Promise<string> {
  checkPasswordPolicy(password)
  return hash(normalise(password), options)
}

export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    return await verify(storedHash, normalise(password))
  } catch {
    // Only a malformed stored hash gets here. Drop the native error: nothing about the
    // attempt, least of all the password, should travel further.
    throw new Error('Stored password hash is malformed')
  }
}

let dummyHash: Promise<string> | undefined

/**
 * The work `verifyPassword` does, against a hash of a random password that nobody knows, so a
 * login for an unknown e-mail costs what a wrong password costs. Always false.
 */
export async function verifyAgainstDummy(password: string): Promise<boolean> {
  dummyHash ??= hash(randomBytes(32).toString('base64url'), options).catch((error: unknown) => {
    dummyHash = undefined
    throw error
  })
  await verify(await dummyHash, normalise(password))
  return false
}

/**
 * The one call a login makes: pass the user's stored hash, or undefined when the e-mail is not
 * known. Both branches run one argon2id verification with the current parameters.
 */
export async function verifyLogin(
  storedHash: string | undefined,
  password: string,
): Promise<boolean> {
  if (storedHash === undefined) return verifyAgainstDummy(password)
  return verifyPassword(storedHash, password)
}

/** True when the hash is weaker than today's parameters (or unreadable): rehash after login. */
export function needsRehash(storedHash: string): boolean {
  try {
    const stored = parseOptions(storedHash)
    return (
      stored.algorithm !== ARGON2ID ||
      stored.version !== ARGON2_VERSION_0x13 ||
      stored.memoryCost < ARGON2_MEMORY_COST_KIB ||
      stored.timeCost < ARGON2_TIME_COST ||
      stored.parallelism < ARGON2_PARALLELISM
    )
  } catch {
    return true
  }
}
