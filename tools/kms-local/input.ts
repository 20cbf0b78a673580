import { KmsError, validation } from './errors.ts'

/**
 * Reading request members. Names are AWS's member names; failures are the ValidationException
 * AWS sends, whose message names the member in camelCase.
 */
export type Input = Record<string, unknown>

const member = (name: string) => name.charAt(0).toLowerCase() + name.slice(1)

export function optionalString(input: Input, name: string): string | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || value.length === 0) {
    throw validation(
      `1 validation error detected: Value at '${member(name)}' failed to satisfy constraint: Member must have length greater than or equal to 1`,
    )
  }
  return value
}

/** Like optionalString, for members where AWS allows the empty string (Description). */
export function optionalText(input: Input, name: string): string | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string')
    throw new KmsError('SerializationException', `${name} must be a string`)
  return value
}

export function requiredString(input: Input, name: string): string {
  const value = optionalString(input, name)
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${member(name)}' failed to satisfy constraint: Member must not be null`,
    )
  }
  return value
}

export function optionalInteger(
  input: Input,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validation(
      `1 validation error detected: Value '${String(value)}' at '${member(name)}' failed to satisfy constraint: Member must have value between ${min} and ${max}`,
    )
  }
  return value
}

export function optionalBoolean(input: Input, name: string): boolean {
  const value = input[name]
  if (value === undefined || value === null) return false
  if (typeof value !== 'boolean')
    throw new KmsError('SerializationException', `${name} must be a boolean`)
  return value
}

/** Blobs travel as base64 in the JSON protocol. */
export function requiredBlob(input: Input, name: string, maxBytes: number): Buffer {
  const value = requiredString(input, name)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new KmsError('SerializationException', `${name} is not valid base64`)
  }
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length < 1 || bytes.length > maxBytes) {
    // Says nothing of the content: the blob may be plaintext.
    throw validation(
      `1 validation error detected: Value at '${member(name)}' failed to satisfy constraint: Member must have length between 1 and ${maxBytes}`,
    )
  }
  return bytes
}

export function encryptionContext(input: Input, name: string): Record<string, string> {
  const value = input[name]
  if (value === undefined || value === null) return {}
  const valid =
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  if (!valid) throw new KmsError('SerializationException', `${name} must map strings to strings`)
  return value as Record<string, string>
}

export function oneOf<T extends string>(
  input: Input,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(input, name)
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${member(name)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    )
  }
  return value as T
}
