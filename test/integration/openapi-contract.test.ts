import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv2020 } from 'ajv/dist/2020.js'
import formats from 'ajv-formats'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { arbitraryOf, resolver, type Schema } from '../support/schema-arbitrary.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

/**
 * The server against its own document (`openapi.yaml`): for every operation, requests generated
 * from the document's schemas (fast-check) and mutations of them. Every answer's status must be
 * one the operation documents and its body must match that status's schema (Ajv). Schema-valid
 * requests of the operations that create or change things must succeed at least once, so a
 * document that describes bodies the server always refuses fails too.
 */
const VALID_RUNS = 12
const MUTATED_RUNS = 8

const document = parse(
  readFileSync(fileURLToPath(new URL('../../openapi.yaml', import.meta.url)), 'utf8'),
) as Record<string, any>
const resolve = resolver(document)

interface Parameter {
  name: string
  in: 'path' | 'query' | 'header'
  required?: boolean
  schema: Schema
}
interface Operation {
  method: string
  path: string
  parameters: Parameter[]
  body: Schema | undefined
  secured: boolean
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>
}

const operations: Operation[] = Object.entries(document.paths as Record<string, any>).flatMap(
  ([path, item]) =>
    Object.entries(item as Record<string, any>)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: ((op.parameters ?? []) as Array<Parameter | { $ref: string }>).map(
          (p) => resolve(p as Schema) as unknown as Parameter,
        ),
        body: op.requestBody?.content?.['application/json']?.schema,
        secured: Array.isArray(op.security) && op.security.length > 0,
        responses: op.responses,
      })),
)
const nameOf = (op: Operation) => `${op.method} ${op.path}`

// Operations that end the caller's session or organization get one of their own per request,
// and run after the rest, which would otherwise lose the keys they were given.
const CONSUMES_SESSION = new Set(['POST /v1/auth/logout', 'DELETE /v1/org'])
const LAST = (op: Operation) => op.method === 'DELETE' || CONSUMES_SESSION.has(nameOf(op))
const ordered = [...operations.filter((op) => !LAST(op)), ...operations.filter(LAST)]

// A schema-valid request to these must succeed at least once. (The audit reads are left out:
// `from` after `to` and foreign cursors are schema-valid and refused, most of the time.)
const MUST_SUCCEED = new Set([
  'POST /v1/auth/signup',
  'POST /v1/tokens',
  'POST /v1/keys',
  'PATCH /v1/org',
  'PATCH /v1/keys/{ref}',
  'PUT /v1/keys/{ref}/value',
  'GET /v1/keys',
  'GET /v1/tokens',
])

// Responses are checked with Ajv against the document, its components under `$defs`.
const ajv = new Ajv2020({ strict: false, allErrors: true })
// ajv-formats is CommonJS: its function is the default export's `default`.
const addFormats = (formats as unknown as { default: typeof formats.default }).default
addFormats(ajv)
ajv.addFormat('password', true)
const rewrite = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(rewrite)
  if (!node || typeof node !== 'object') return node
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string'
        ? v.replace('#/components/schemas/', 'openapi.json#/$defs/')
        : rewrite(v),
    ]),
  )
}
ajv.addSchema({ $id: 'openapi.json', $defs: rewrite(document.components.schemas) as object })
const validators = new Map<Schema, ReturnType<typeof ajv.compile>>()
const validatorOf = (schema: Schema) => {
  let validate = validators.get(schema)
  if (!validate) {
    validate = ajv.compile(rewrite(schema) as object)
    validators.set(schema, validate)
  }
  return validate
}

interface Request {
  path: Record<string, string>
  query: Record<string, string>
  body?: unknown
  rawBody?: string
  contentType?: string
}

let stack: Stack
let api: ReturnType<typeof client>
let session: string
const seeds: Record<string, string[]> = { ref: [], id: [] }
// Likewise the cursors of the lists that must answer: a random string is a foreign cursor (400),
// so half of their cursors are real ones, taken from a first page.
const cursorSeeds: Record<string, string[]> = { 'GET /v1/tokens': [], 'GET /v1/keys': [] }
// Refusals of schema-valid bodies that the generator cannot steer clear of from what it reads
// of the schema: a token's expiry must be in the future, within the server's configured maximum
// and the caller's own expiry (the clock, the deployment and the caller's grant decide), and the
// body's `not` (no tenant-wide scope on a key-restricted token), which the generator does not
// read. Like path ids drawn from known-good values, half of these bodies are made to avoid them.
const tokenBody = resolve(
  document.paths['/v1/tokens'].post.requestBody.content['application/json'].schema,
)
const tenantWide = (tokenBody as any).not?.properties?.scopes?.not?.items?.not?.enum as string[]
if (!tenantWide?.length)
  throw new Error('POST /v1/tokens no longer documents its tenant-wide scopes')
const steers: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
  'POST /v1/tokens': (body) => {
    const steered = { ...body }
    if ('expiresIn' in steered) steered.expiresIn = 3600
    if ('expiresAt' in steered) steered.expiresAt = new Date(Date.now() + 3_600_000).toISOString()
    if ('keys' in steered && Array.isArray(steered.scopes)) {
      const scopes = steered.scopes.filter((scope) => !tenantWide.includes(scope))
      steered.scopes = scopes.length ? scopes : ['keys:read']
    }
    return steered
  },
}
const tally = new Map<string, { requests: number; statuses: Map<number, number> }>()

beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
  session = (await signup(api)).session
  for (let i = 0; i < 6; i++) {
    const key = await api.post('/v1/keys', { name: `seed-${i}`, value: `seed-value-${i}` }, session)
    seeds.ref?.push(key.body.name, key.body.id)
    const token = await api.post(
      '/v1/tokens',
      { name: `seed-${i}`, scopes: ['keys:read'], expiresIn: 600 },
      session,
    )
    seeds.id?.push(token.body.id)
  }
  for (const [name, cursors] of Object.entries(cursorSeeds)) {
    const page = await api.get(`${name.split(' ')[1]}?limit=1`, session)
    if (typeof page.body.nextCursor !== 'string') throw new Error(`${name}: no second page`)
    cursors.push(page.body.nextCursor)
  }
})
afterAll(async () => {
  await stack?.close()
  const lines = [...tally].map(
    ([name, t]) =>
      `${name}: ${t.requests} requests (${[...t.statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')})`,
  )
  const total = [...tally.values()].reduce((n, t) => n + t.requests, 0)
  console.info(
    `OpenAPI contract: ${total} requests over ${tally.size} operations\n${lines.join('\n')}`,
  )
})

function requestArbitrary(op: Operation): fc.Arbitrary<Request> {
  const param = (p: Parameter) => {
    const generated = arbitraryOf(p.schema, resolve).map(String)
    const known =
      p.in === 'path' ? seeds[p.name] : p.name === 'cursor' ? cursorSeeds[nameOf(op)] : undefined
    return known?.length ? fc.oneof(fc.constantFrom(...known), generated) : generated
  }
  const group = (where: Parameter['in']) => {
    const params = op.parameters.filter((p) => p.in === where)
    return fc.record(Object.fromEntries(params.map((p) => [p.name, param(p)])), {
      requiredKeys: params.filter((p) => p.required).map((p) => p.name),
    }) as fc.Arbitrary<Record<string, string>>
  }
  return fc.record({
    path: group('path'),
    query: group('query'),
    ...(op.body ? { body: bodyArbitrary(op, op.body) } : {}),
  }) as fc.Arbitrary<Request>
}

function bodyArbitrary(op: Operation, schema: Schema): fc.Arbitrary<unknown> {
  const generated = arbitraryOf(schema, resolve)
  const steer = steers[nameOf(op)]
  if (!steer) return generated
  return fc
    .tuple(generated, fc.boolean())
    .map(([body, steered]) =>
      steered && body && typeof body === 'object' && !Array.isArray(body)
        ? steer(body as Record<string, unknown>)
        : body,
    )
}

type Mutation = (request: Request) => Request

/** Ways to break a valid request that the operation has room for. */
function mutationsOf(op: Operation): Mutation[] {
  const mutations: Mutation[] = []
  for (const p of op.parameters) {
    const schema = resolve(p.schema)
    const bad = schema.pattern
      ? 'bad$value'
      : schema.maxLength !== undefined
        ? 'x'.repeat(schema.maxLength + 1)
        : schema.type === 'integer' || schema.type === 'number'
          ? 'not-a-number'
          : schema.enum
            ? 'not-in-the-enum'
            : undefined
    if (bad === undefined) continue
    mutations.push((r) => ({ ...r, [p.in]: { ...(r[p.in as 'path'] ?? {}), [p.name]: bad } }))
  }
  if (op.body) {
    const schema = resolve(op.body)
    const required = schema.required?.length
      ? schema.required
      : ((schema.oneOf ?? [])
          .map((b) => resolve(b).required ?? [])
          .reduce<string[] | undefined>(
            (a, b) => (a ? a.filter((name) => b.includes(name)) : b),
            undefined,
          ) ?? [])
    mutations.push(
      (r) => ({ ...r, body: undefined, rawBody: '{"unterminated": ' }),
      (r) => ({ ...r, contentType: 'text/plain' }),
      (r) => ({ ...r, body: [r.body] }),
    )
    if (required.length) {
      mutations.push((r) => {
        const body = { ...(r.body as Record<string, unknown>) }
        delete body[required[0] as string]
        return { ...r, body }
      })
      mutations.push((r) => {
        const body = r.body as Record<string, unknown>
        const name = required[0] as string
        return { ...r, body: { ...body, [name]: typeof body[name] === 'string' ? 12345 : 'x' } }
      })
    }
    if (schema.additionalProperties === false || schema.oneOf) {
      mutations.push((r) => ({
        ...r,
        body: { ...(r.body as Record<string, unknown>), unexpectedProperty: true },
      }))
    }
  }
  return mutations
}

async function send(op: Operation, request: Request) {
  let url = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(request.path[name] ?? ''),
  )
  const query = new URLSearchParams(request.query).toString()
  if (query) url += `?${query}`
  const headers: Record<string, string> = {}
  if (op.secured) {
    headers.authorization = `Bearer ${CONSUMES_SESSION.has(nameOf(op)) ? (await signup(api)).session : session}`
  }
  let body: string | undefined
  if (request.rawBody !== undefined) body = request.rawBody
  else if (op.body && request.body !== undefined) body = JSON.stringify(request.body)
  if (body !== undefined) headers['content-type'] = request.contentType ?? 'application/json'
  const res = await stack.app.request(url, {
    method: op.method,
    headers,
    ...(body !== undefined ? { body } : {}),
  })
  const text = await res.text()
  const t = tally.get(nameOf(op)) ?? { requests: 0, statuses: new Map() }
  t.requests++
  t.statuses.set(res.status, (t.statuses.get(res.status) ?? 0) + 1)
  tally.set(nameOf(op), t)
  return { status: res.status, contentType: res.headers.get('content-type'), text, url }
}

/** The answer's status is documented for the operation and its body matches the schema. */
function checkAnswer(op: Operation, answer: Awaited<ReturnType<typeof send>>) {
  const where = `${nameOf(op)} → ${answer.url} answered ${answer.status}: ${answer.text.slice(0, 300)}`
  const documented = op.responses[String(answer.status)]
  expect(documented, `undocumented status; ${where}`).toBeDefined()
  const content = documented?.content
  if (!content) {
    expect(answer.text, `a body where none is documented; ${where}`).toBe('')
    return
  }
  const mediaType = (answer.contentType ?? '').split(';')[0]?.trim() ?? ''
  const entry = content[mediaType]
  expect(entry, `undocumented content type ${mediaType}; ${where}`).toBeDefined()
  if (!entry?.schema || !(mediaType === 'application/json' || mediaType.endsWith('+json'))) return
  const validate = validatorOf(entry.schema)
  const valid = validate(JSON.parse(answer.text))
  expect(valid, `body does not match: ${ajv.errorsText(validate.errors)}; ${where}`).toBe(true)
}

describe('the server keeps the promises of openapi.yaml', () => {
  for (const op of ordered) {
    it(nameOf(op), { timeout: 120_000 }, async () => {
      let successes = 0
      await fc.assert(
        fc.asyncProperty(requestArbitrary(op), async (request) => {
          const answer = await send(op, request)
          checkAnswer(op, answer)
          if (answer.status < 300) successes++
        }),
        // A fresh account per request costs a sign-up (argon2id): fewer of those.
        { numRuns: CONSUMES_SESSION.has(nameOf(op)) ? 3 : VALID_RUNS, endOnFailure: true },
      )
      if (MUST_SUCCEED.has(nameOf(op))) {
        // Most schema-valid requests may be refused (an unknown ref, a name already taken):
        // go on drawing, every answer still checked, until one succeeds or the draws run out.
        for (const request of successes === 0 ? fc.sample(requestArbitrary(op), 60) : []) {
          const answer = await send(op, request)
          checkAnswer(op, answer)
          if (answer.status < 300) {
            successes++
            break
          }
        }
        expect(successes, 'no schema-valid request succeeded').toBeGreaterThan(0)
      }

      const mutations = mutationsOf(op)
      if (mutations.length === 0) return
      await fc.assert(
        fc.asyncProperty(
          requestArbitrary(op),
          fc.constantFrom(...mutations),
          async (request, mutate) => {
            const answer = await send(op, mutate(request))
            checkAnswer(op, answer)
            expect(
              answer.status,
              `a broken request was accepted: ${answer.url}`,
            ).toBeGreaterThanOrEqual(400)
          },
        ),
        { numRuns: MUTATED_RUNS, endOnFailure: true },
      )
    })
  }
})
