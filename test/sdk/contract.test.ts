import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { GENERATED_PATH, generateTypes, renderTypes } from '../../sdk/scripts/generate-types.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('the SDK and the contract', () => {
  it('commits sdk/src/generated/openapi.ts exactly as openapi.yaml generates it (npm run sdk:types)', () => {
    expect(readFileSync(`${root}${GENERATED_PATH}`, 'utf8')).toBe(generateTypes())
  })

  it('type-checks against the generated types, with browser types and no Node types', () => {
    // The SDK's types are the generated ones: a route or schema that changes shape breaks this
    // compile. lib DOM and `types: []` also keep Node-only APIs out of the SDK.
    const tsc = spawnSync(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}sdk/tsconfig.json`],
      { encoding: 'utf8' },
    )
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
  })
})

describe('the type generator', () => {
  const doc = (schemas: object, paths: object = {}) =>
    JSON.stringify({ openapi: '3.1.0', components: { schemas }, paths })

  it('renders nullable lists, enums, refs, allOf, index signatures and optional members', () => {
    const out = renderTypes(
      doc({
        A: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'the id' },
            n: { type: ['integer', 'null'] },
            e: { type: ['string', 'null'], enum: ['x', 'y', null] },
            list: { type: 'array', items: { $ref: '#/components/schemas/B' } },
          },
          required: ['id', 'n'],
          additionalProperties: {},
        },
        B: { allOf: [{ $ref: '#/components/schemas/A' }, { type: 'object', properties: {} }] },
      }),
    ).replace(/\s+/g, ' ')
    expect(out).toContain(
      "A: { /** the id */ id: string n: number | null e?: 'x' | 'y' | null list?: Array<components['schemas']['B']> [key: string]: unknown }",
    )
    expect(out).toContain("B: (components['schemas']['A'] & Record<string, never>)")
  })

  it('refuses constructs it does not know rather than typing them loosely', () => {
    expect(() => renderTypes(doc({ X: { type: 'file' } }))).toThrow(/unsupported schema type/)
    expect(() => renderTypes(doc({ X: { $ref: 'other.yaml#/X' } }))).toThrow(/unsupported \$ref/)
  })
})
