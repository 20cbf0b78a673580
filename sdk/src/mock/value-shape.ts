// Copied by `npm run sdk:mock` from src/mock/value-shape.ts. Do not edit: change that file.
/**
 * The generic fallback: a fake that mirrors a stored value's length and character classes
 * without revealing it. The shape is computed once, when the value is written, and kept in
 * plaintext metadata, so it holds only coarse facts: the length, which classes occur, which
 * ASCII symbols occur (not where or how often) and, from a fixed list, a public vendor prefix.
 * Nothing in it is a piece of the random part of the value.
 *
 * Pure TypeScript with no runtime imports: the SDK bundles it through fake-values.ts.
 */
import type { RandomStream } from './hmac-stream.ts'

export interface ValueShape {
  /** Version of this descriptor, so stored shapes can evolve. */
  v: 1
  /** Length in Unicode code points, prefix included. */
  length: number
  /** A public vendor prefix from KNOWN_PREFIXES, or ''. */
  prefix: string
  lower: boolean
  upper: boolean
  digit: boolean
  /** Every letter is a hex digit (a-f, A-F). */
  hex: boolean
  /** The distinct ASCII characters other than letters and digits, in code order. */
  symbols: string
  /** Some characters lie outside ASCII. */
  nonAscii: boolean
}

/**
 * Vendor prefixes that are constants, not secrets, so repeating them reveals nothing. A fixed
 * list rather than "whatever precedes the first `_` or `-`": in a random base64url value that
 * would sometimes be a random fragment. Left out on purpose: prefixes of the providers that have
 * their own format (a value that failed that format's check is odd enough to get no prefix),
 * and live-mode or access-key prefixes (`sk_live_`, `AKIA`), which a fake must never start with.
 */
export const KNOWN_PREFIXES: readonly string[] = [
  'xoxb-',
  'xoxp-',
  'xoxa-',
  'xoxe-',
  'xapp-',
  'glpat-',
  'gldt-',
  'npm_',
  'hf_',
  'pypi-',
  'shpat_',
  'shpss_',
  'dop_v1_',
  'lin_api_',
  'pplx-',
  'gsk_',
  'xai-',
  'whsec_',
  'key-',
]

/** A prefix is only revealed when at least this many code points follow it. */
const MIN_BODY_AFTER_PREFIX = 8
/** Bounds the work a stored (possibly corrupted) shape can ask for: 1 MiB of characters. */
const MAX_LENGTH = 1 << 20

const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const DIGITS = '0123456789'
// Letters past `f`, so a fake of a non-hex value never reads as hex by accident.
const LOWER_NON_HEX = LOWER.slice(6)
const UPPER_NON_HEX = UPPER.slice(6)
// Two- and three-byte UTF-8 letters, all in the BMP so one code point is one UTF-16 unit.
const NON_ASCII = 'äéñøßçåüжщλπ日本語字'

export const DEFAULT_GENERIC_SHAPE: Readonly<ValueShape> = Object.freeze({
  v: 1,
  length: 40,
  prefix: '',
  lower: true,
  upper: true,
  digit: true,
  hex: false,
  symbols: '',
  nonAscii: false,
})

export function describeShape(value: string): ValueShape {
  const length = [...value].length
  const prefix =
    KNOWN_PREFIXES.filter((p) => value.startsWith(p) && length - p.length >= MIN_BODY_AFTER_PREFIX)
      .sort((a, b) => b.length - a.length)
      .at(0) ?? ''
  const shape: ValueShape = {
    v: 1,
    length,
    prefix,
    lower: false,
    upper: false,
    digit: false,
    hex: false,
    symbols: '',
    nonAscii: false,
  }
  const symbols = new Set<string>()
  let letters = 0
  let hexLetters = 0
  for (const ch of value.slice(prefix.length)) {
    if (ch >= 'a' && ch <= 'z') shape.lower = true
    else if (ch >= 'A' && ch <= 'Z') shape.upper = true
    else if (ch >= '0' && ch <= '9') shape.digit = true
    else if (ch.charCodeAt(0) < 0x80) symbols.add(ch)
    else shape.nonAscii = true
    if (/[a-z]/i.test(ch)) {
      letters++
      if (/[a-f]/i.test(ch)) hexLetters++
    }
  }
  shape.hex = letters > 0 && hexLetters === letters
  shape.symbols = [...symbols].sort().join('')
  return shape
}

/** A fake with exactly the shape's length, prefix and classes; `mock` leads the body if it fits. */
export async function renderShape(shape: ValueShape, random: RandomStream): Promise<string> {
  assertShape(shape)
  const bodyLength = shape.length - shape.prefix.length
  // Each pool is what the body may use; each representative set supplies the one character that
  // proves the class is present. Symbols are pools of one, so every symbol appears.
  const classes: Array<{ pool: string; representatives: string }> = []
  if (shape.lower) {
    classes.push({
      pool: shape.hex ? 'abcdef' : LOWER,
      representatives: shape.hex ? 'abcdef' : LOWER_NON_HEX,
    })
  }
  if (shape.upper) {
    classes.push({
      pool: shape.hex ? 'ABCDEF' : UPPER,
      representatives: shape.hex ? 'ABCDEF' : UPPER_NON_HEX,
    })
  }
  if (shape.digit) classes.push({ pool: DIGITS, representatives: DIGITS })
  for (const symbol of shape.symbols) classes.push({ pool: symbol, representatives: symbol })
  if (shape.nonAscii) classes.push({ pool: NON_ASCII, representatives: NON_ASCII })
  if (bodyLength < classes.length) throw new TypeError('invalid value shape')

  // `mock` stands in for the lower-case class (or `MOCK` for upper-case): it is not hex, so it
  // only appears where the value has non-hex letters, and only if every class still fits.
  const marker = shape.hex ? '' : shape.lower ? 'mock' : shape.upper ? 'MOCK' : ''
  const useMarker = marker !== '' && bodyLength >= marker.length + classes.length - 1
  const required = useMarker ? classes.slice(1) : classes

  const alphabet = classes.map((c) => c.pool).join('')
  const head = useMarker ? marker : ''
  const body = [...(await random.chars(alphabet, bodyLength - head.length))]

  // Distinct positions for the representatives: a partial Fisher-Yates shuffle of the indices.
  const positions = Array.from(body, (_, i) => i)
  for (let i = 0; i < required.length; i++) {
    const j = i + (await random.int(positions.length - i))
    const chosen = positions[j] as number
    positions[j] = positions[i] as number
    positions[i] = chosen
    const { representatives } = required[i] as (typeof required)[number]
    body[chosen] = await random.chars(representatives, 1)
  }
  return shape.prefix + head + body.join('')
}

function assertShape(shape: ValueShape): void {
  const ok =
    typeof shape === 'object' &&
    shape !== null &&
    shape.v === 1 &&
    Number.isInteger(shape.length) &&
    shape.length >= 0 &&
    shape.length <= MAX_LENGTH &&
    (shape.prefix === '' || KNOWN_PREFIXES.includes(shape.prefix)) &&
    shape.length >= shape.prefix.length &&
    [shape.lower, shape.upper, shape.digit, shape.hex, shape.nonAscii].every(
      (flag) => typeof flag === 'boolean',
    ) &&
    (!shape.hex || shape.lower || shape.upper) &&
    typeof shape.symbols === 'string' &&
    /^[\0-/:-@[-`{-\x7f]*$/.test(shape.symbols) &&
    new Set(shape.symbols).size === shape.symbols.length
  if (!ok) throw new TypeError('invalid value shape')
}
