import fc from 'fast-check'

/** A JSON Schema as OpenAPI 3.1 writes it (the subset Keystash's document uses). */
export type Schema = {
  $ref?: string
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  items?: Schema
  minItems?: number
  maxItems?: number
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  oneOf?: Schema[]
  anyOf?: Schema[]
  default?: unknown
}

/** Resolves `#/components/...` references against the document. */
export function resolver(document: Record<string, unknown>) {
  return (schema: Schema): Schema => {
    let current = schema
    while (current.$ref) {
      const path = current.$ref.replace(/^#\//, '').split('/')
      current = path.reduce<any>((node, part) => node?.[part], document) as Schema
      if (!current) throw new Error(`unresolved reference ${schema.$ref}`)
    }
    return current
  }
}

// Kept short: the point is the shape of values, not their size (bodies are bounded elsewhere).
const MAX_STRING = 40
const MAX_ITEMS = 4

/**
 * A fast-check arbitrary of values valid under `schema`. Patterns with lookarounds, which
 * fast-check cannot generate from, are generated without them and then filtered.
 */
export function arbitraryOf(schema: Schema, resolve: (s: Schema) => Schema): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum) return fc.constantFrom(...s.enum)
  if (s.oneOf || s.anyOf) {
    const branches = (s.oneOf ?? s.anyOf) as Schema[]
    const { oneOf: _o, anyOf: _a, ...base } = s
    if (base.type === 'object' || base.properties) return objectBranches(base, branches, resolve)
    return fc.oneof(...branches.map((b) => arbitraryOf({ ...base, ...resolve(b) }, resolve)))
  }
  if (Array.isArray(s.type)) {
    return fc.oneof(...s.type.map((type) => arbitraryOf({ ...s, type }, resolve)))
  }
  switch (s.type) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1e6)
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1e9)
      return fc.integer({ min, max })
    }
    case 'number':
      return fc.double({
        min: s.minimum ?? -1e6,
        max: s.maximum ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      })
    case 'string':
      return stringOf(s)
    case 'array':
      return fc.array(arbitraryOf(s.items ?? {}, resolve), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? MAX_ITEMS, MAX_ITEMS)),
      })
    case 'object':
      return objectOf(s, resolve)
    default:
      return s.properties ? objectOf(s, resolve) : fc.jsonValue({ maxDepth: 2 })
  }
}

function stringOf(s: Schema): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0
  const maxLength = Math.max(minLength, Math.min(s.maxLength ?? MAX_STRING, MAX_STRING))
  const fits = (value: string) => {
    const length = [...value].length
    return length >= minLength && length <= (s.maxLength ?? Number.POSITIVE_INFINITY)
  }
  if (s.pattern) {
    const exact = new RegExp(s.pattern, 'u')
    const generable = s.pattern.replace(/\(\?[=!][^)]*\)/g, '')
    return fc
      .stringMatching(new RegExp(generable))
      .filter((value) => exact.test(value) && fits(value))
  }
  if (s.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString())
  }
  if (s.format === 'email') return fc.emailAddress().filter(fits)
  return fc.string({ minLength, maxLength, unit: 'grapheme' }).filter(fits)
}

function objectOf(s: Schema, resolve: (s: Schema) => Schema, forbidden: string[] = []) {
  const required = new Set(s.required ?? [])
  const entries = Object.entries(s.properties ?? {}).filter(([name]) => !forbidden.includes(name))
  const record = Object.fromEntries(
    entries.map(([name, schema]) => [name, arbitraryOf(schema, resolve)]),
  )
  return fc.record(record, {
    requiredKeys: entries.map(([name]) => name).filter((name) => required.has(name)),
  }) as fc.Arbitrary<Record<string, unknown>>
}

/** `oneOf` of `required` lists (exactly one of several properties): one branch at a time. */
function objectBranches(base: Schema, branches: Schema[], resolve: (s: Schema) => Schema) {
  return fc.oneof(
    ...branches.map((branch) => {
      const b = resolve(branch)
      const mine = new Set(b.required ?? [])
      const others = branches
        .flatMap((other) => resolve(other).required ?? [])
        .filter((name) => !mine.has(name))
      if (b.properties) {
        return arbitraryOf(
          { ...base, ...b, properties: { ...base.properties, ...b.properties } },
          resolve,
        )
      }
      return objectOf({ ...base, required: [...(base.required ?? []), ...mine] }, resolve, others)
    }),
  )
}
