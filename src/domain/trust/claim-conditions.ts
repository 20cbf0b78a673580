import type { ClaimCondition } from '../../storage/trust-relationships.ts'

/**
 * Claim conditions: every one must hold for a subject token to be exchanged. Claims are
 * addressed by JSON Pointer (RFC 6901), so `/kubernetes.io/namespace` reaches the nested
 * object Kubernetes issues, and a claim whose name contains `/` stays addressable (`~1`).
 */

/** The value at `pointer` in `document`, or undefined when the path does not exist. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document
  if (!pointer.startsWith('/')) return undefined
  let current: unknown = document
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined
    if (!Object.hasOwn(current, token)) return undefined
    current = (current as Record<string, unknown>)[token]
  }
  return current
}

/** A JSON Pointer as written by people: `/` followed by segments, `~` only as `~0` or `~1`. */
export const isJsonPointer = (pointer: string) =>
  /^(\/([^~/]|~[01])*)+$/.test(pointer) && pointer.length <= 200

/**
 * `*` stands for any run of characters, including none; everything else is literal. A claim
 * that is not a string, number or boolean (an object, an array) never matches.
 */
export function conditionHolds(claims: Record<string, unknown>, condition: ClaimCondition) {
  const found = resolvePointer(claims, condition.claim)
  if (typeof found !== 'string' && typeof found !== 'number' && typeof found !== 'boolean')
    return false
  const actual = String(found)
  if (condition.match === 'exact') return actual === condition.value
  return globToRegExp(condition.value).test(actual)
}

/** The first condition that does not hold, or undefined when all do. */
export function firstFailingCondition(
  claims: Record<string, unknown>,
  conditions: readonly ClaimCondition[],
): ClaimCondition | undefined {
  return conditions.find((condition) => !conditionHolds(claims, condition))
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${body}$`, 's')
}

/** Whether a condition pins one exact value (no wildcard anywhere in it). */
export const pinsExactly = (condition: ClaimCondition) =>
  condition.match === 'exact' || !condition.value.includes('*')
