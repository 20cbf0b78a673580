import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { RevealedValue, ValueReader } from '../../domain/key-values.ts'
import { describeKey, type KeyService } from '../../domain/keys.ts'
import { providers } from '../../mock/fake-values.ts'
import { keyRefItem } from '../../storage/keys-repo.ts'
import { type AuditEntry, audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { jsonResponse } from '../response-headers.ts'
import { createRouter, parseInput } from '../router.ts'
import { bearer, Flag, json, jsonBody, LifetimeFilters, problems } from '../schemas.ts'

/** A key's name, and so what `{ref}` may be (a key id has this shape too). */
// `.` and `..` are path segments that URLs resolve away: a key so named could never be reached.
export const REF_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,128}$/
export const KeyNameSchema = z
  .string()
  .regex(REF_PATTERN, '1-128 of A-Z a-z 0-9 _ . -, other than . and ..')
const Ref = z.object({
  ref: z.string().regex(REF_PATTERN).openapi({ description: 'A key id (key_...) or a key name' }),
})
const ValueQuery = z.object({ version: z.coerce.number().int().min(1).optional() })
const Provider = z.enum(providers)
export const TagsSchema = z
  .array(z.string().regex(/^[A-Za-z0-9_.:=/-]{1,64}$/, '1-64 of A-Z a-z 0-9 _ . : = / -'))
  .max(20)
export const DescriptionSchema = z.string().max(1000)
// With the `u` flag, a surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
const Value = z
  .string()
  .min(1)
  // A lone surrogate has no UTF-8 form: storing it would silently turn it into U+FFFD.
  .refine(
    (value) => !LONE_SURROGATE.test(value),
    'must be well-formed Unicode (no lone surrogates)',
  )
  .openapi({ description: '1 byte to 16 KiB of UTF-8, stored exactly as sent', format: 'password' })
const ExpiresAt = z.iso
  .datetime({ offset: true })
  .openapi({ description: 'When the provider key itself expires' })
const RotateEveryDays = z.number().int().min(1).max(3650).openapi({
  description:
    'Replace the provider key this often; rotationDueAt follows from the current version',
})
const ModeSetting = z.enum(['mock', 'live'])
const MockOverrides = z
  .strictObject({
    development: ModeSetting.nullable().optional(),
    staging: ModeSetting.nullable().optional(),
    production: ModeSetting.nullable().optional(),
  })
  .openapi({ description: 'Per-environment override of mock mode; null clears one' })

export const KeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    provider: Provider,
    description: z.string().nullable(),
    tags: z.array(z.string()),
    currentVersion: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime().nullable(),
    rotateEveryDays: z.number().int().nullable(),
    rotationDueAt: z.iso.datetime().nullable(),
    mockOverrides: z.object({
      development: ModeSetting.optional(),
      staging: ModeSetting.optional(),
      production: ModeSetting.optional(),
    }),
  })
  .openapi('Key')

const ModeSchema = z
  .object({
    environment: z.enum(['development', 'staging', 'production']),
    effective: ModeSetting,
    source: z.enum(['guardrail', 'key_override', 'environment_default']),
  })
  .openapi('Mode')

const KeyValueSchema = z
  .object({
    keyId: z.string(),
    name: z.string(),
    provider: Provider,
    version: z.number().int(),
    value: z.string(),
    mode: ModeSchema,
  })
  .openapi('KeyValue')

const VersionSchema = z
  .object({
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    kek: z.object({ provider: z.enum(['platform', 'aws-kms', 'raw']), version: z.number().int() }),
  })
  .openapi('KeyVersion')

export const keyTarget = (record: { keyId: string; name: string }) => ({
  type: 'key' as const,
  id: record.keyId,
  name: record.name,
})

/** A value read's audit event; the route and http/fast-value-read.ts record the same one. */
export const valueReadEntry = (r: RevealedValue): AuditEntry => ({
  action: 'key.value.read',
  target: keyTarget(r.record),
  details: {
    version: r.version,
    environment: r.mode.environment,
    mode: r.mode.effective,
    modeSource: r.mode.source,
  },
})

/**
 * A value read's answer: the documented KeyValue body, `no-store`, Keystash-Mode, and the
 * rate limits' headers when the read counted against any.
 */
export function valueAnswer(
  requestId: string,
  revealed: RevealedValue,
  rateLimit?: Record<string, string>,
): Response {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'keystash-mode': revealed.mode.effective,
  }
  if (rateLimit !== undefined) Object.assign(headers, rateLimit)
  return jsonResponse(requestId, valueJson(revealed), 200, headers)
}

interface ValueJsonParts {
  version: number
  mode: RevealedValue['mode']
  /** The body's JSON up to the value, and after it. */
  head: string
  tail: string
}

// Per key record object (a cached record is the same object on every read). On Node 20,
// JSON.stringify of the whole body costs about 1 µs, most of it on the fields around the value.
const valueJsonParts = new WeakMap<object, ValueJsonParts>()

/**
 * A value answer's body: exactly `JSON.stringify` of the KeyValue body, with everything but
 * the value serialised once per key record, version and mode.
 */
export function valueJson(revealed: RevealedValue): string {
  const { record, version, mode } = revealed
  let parts = valueJsonParts.get(record)
  if (
    parts === undefined ||
    parts.version !== version ||
    parts.mode.environment !== mode.environment ||
    parts.mode.effective !== mode.effective ||
    parts.mode.source !== mode.source
  ) {
    // Typed by the documented schema: the value route is not declared with `.openapi()`, so
    // nothing else ties its body to the contract at compile time.
    const body: z.input<typeof KeyValueSchema> = {
      keyId: record.keyId,
      name: record.name,
      provider: record.provider,
      version,
      value: '',
      mode: { environment: mode.environment, effective: mode.effective, source: mode.source },
    }
    const whole = JSON.stringify(body)
    // Quotes inside strings are escaped, so this is the property itself, not text in a field.
    const at = whole.indexOf('"value":""') + '"value":'.length
    parts = { version, mode: body.mode, head: whole.slice(0, at), tail: whole.slice(at + 2) }
    valueJsonParts.set(record, parts)
  }
  return parts.head + JSON.stringify(revealed.value) + parts.tail
}

export function keyRoutes(deps: {
  keyService: KeyService
  reveal: ValueReader
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
}) {
  const { keyService, reveal, audit } = deps
  const refTarget = (ref: string) => ({ type: 'key' as const, id: ref })
  const auth = requireAuth({ authenticator: deps.authenticator })
  // The value read fetches the key record in the same round trip as the token's status.
  const authWithKey = requireAuth({
    authenticator: deps.authenticator,
    prefetch: (c, tenantId) => {
      const ref = c.req.param('ref')
      return ref && REF_PATTERN.test(ref) ? [keyRefItem(tenantId, ref)] : []
    },
  })

  const create = createRoute({
    method: 'post',
    path: '/v1/keys',
    tags: ['keys'],
    summary: 'Store a new key (version 1)',
    security: bearer,
    middleware: [auth] as const,
    request: jsonBody(
      z.strictObject({
        name: KeyNameSchema,
        value: Value,
        provider: Provider.optional(),
        description: DescriptionSchema.optional(),
        tags: TagsSchema.optional(),
        expiresAt: ExpiresAt.optional(),
        rotateEveryDays: RotateEveryDays.optional(),
      }),
    ),
    responses: {
      201: { description: 'Created', content: json(KeySchema) },
      ...problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
  })

  const list = createRoute({
    method: 'get',
    path: '/v1/keys',
    tags: ['keys'],
    summary: 'List keys (metadata only), sorted by name',
    security: bearer,
    middleware: [auth] as const,
    request: {
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(50),
        cursor: z.string().max(2048).optional(),
        provider: Provider.optional(),
        tag: z.string().max(64).optional(),
        ...LifetimeFilters,
        rotationOverdue: Flag.optional().openapi({
          description: 'Only keys whose replacement is overdue',
        }),
      }),
    },
    responses: {
      200: {
        description: 'A page of keys',
        content: json(z.object({ items: z.array(KeySchema), nextCursor: z.string().nullable() })),
      },
      ...problems(400, 401, 403, 422),
    },
  })

  const get = createRoute({
    method: 'get',
    path: '/v1/keys/{ref}',
    tags: ['keys'],
    summary: 'Describe a key (never its value)',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref },
    responses: {
      200: { description: 'The key', content: json(KeySchema) },
      ...problems(401, 403, 404, 422),
    },
  })

  const update = createRoute({
    method: 'patch',
    path: '/v1/keys/{ref}',
    tags: ['keys'],
    summary: 'Change a key’s metadata and mock-mode overrides (names are permanent)',
    security: bearer,
    middleware: [auth] as const,
    request: {
      params: Ref,
      ...jsonBody(
        z.strictObject({
          description: DescriptionSchema.nullable().optional(),
          tags: TagsSchema.optional(),
          provider: Provider.optional(),
          mockOverrides: MockOverrides.optional(),
          expiresAt: ExpiresAt.nullable().optional(),
          rotateEveryDays: RotateEveryDays.nullable().optional(),
        }),
      ),
    },
    responses: {
      200: { description: 'Updated', content: json(KeySchema) },
      ...problems(400, 401, 403, 404, 409, 413, 415, 422),
    },
  })

  const remove = createRoute({
    method: 'delete',
    path: '/v1/keys/{ref}',
    tags: ['keys'],
    summary: 'Delete a key and every version’s ciphertext',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref },
    responses: { 204: { description: 'Deleted' }, ...problems(401, 403, 404, 422) },
  })

  const readValue = createRoute({
    method: 'get',
    path: '/v1/keys/{ref}/value',
    tags: ['keys'],
    summary:
      'Reveal a key’s value (current or given version); mock or live per the token’s environment',
    security: bearer,
    request: { params: Ref, query: ValueQuery },
    responses: {
      200: {
        description: 'The value. `Keystash-Mode` says whether it is live or mock.',
        headers: { 'Keystash-Mode': { schema: { type: 'string', enum: ['mock', 'live'] } } },
        content: json(KeyValueSchema),
      },
      ...problems(401, 403, 404, 422, 429, 503),
    },
  })

  const putValue = createRoute({
    method: 'put',
    path: '/v1/keys/{ref}/value',
    tags: ['keys'],
    summary: 'Add a new version of the value (with a new data key)',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref, ...jsonBody(z.strictObject({ value: Value })) },
    responses: {
      200: { description: 'The key, with its new current version', content: json(KeySchema) },
      ...problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
  })

  const versions = createRoute({
    method: 'get',
    path: '/v1/keys/{ref}/versions',
    tags: ['keys'],
    summary: 'List a key’s versions (never values)',
    security: bearer,
    middleware: [auth] as const,
    request: { params: Ref },
    responses: {
      200: {
        description: 'Versions, oldest first',
        content: json(z.object({ items: z.array(VersionSchema) })),
      },
      ...problems(401, 403, 404, 422),
    },
  })

  const router = createRouter()
    .openapi(create, async (c) => {
      const input = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (created) => ({
          action: 'key.create',
          target: keyTarget(created),
          details: { provider: created.provider, version: 1 },
        }),
        () => keyService.create(c.get('principal'), input),
        { action: 'key.create', target: { type: 'key', id: input.name, name: input.name } },
      )
      return c.json(describeKey(record), 201)
    })
    .openapi(list, async (c) => {
      const { neverUsed, rotationOverdue, ...query } = c.req.valid('query')
      const page = await keyService.list(c.get('principal'), {
        ...query,
        neverUsed: neverUsed === 'true',
        rotationOverdue: rotationOverdue === 'true',
      })
      return c.json({ items: page.items.map(describeKey), nextCursor: page.nextCursor }, 200)
    })
    .openapi(get, async (c) =>
      c.json(describeKey(await keyService.get(c.get('principal'), c.req.valid('param').ref)), 200),
    )
    .openapi(update, async (c) => {
      const { ref } = c.req.valid('param')
      const changes = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (updated) => ({
          action: 'key.update',
          target: keyTarget(updated),
          details: {
            fields: Object.keys(changes).join(' '),
            ...Object.fromEntries(
              Object.entries(changes.mockOverrides ?? {}).map(([env, mode]) => [
                `mockOverrides.${env}`,
                mode ?? null,
              ]),
            ),
          },
        }),
        () => keyService.update(c.get('principal'), ref, changes),
        { action: 'key.update', target: refTarget(ref) },
      )
      return c.json(describeKey(record), 200)
    })
    .openapi(remove, async (c) => {
      const { ref } = c.req.valid('param')
      await audited(
        c,
        audit,
        (deleted) => ({
          action: 'key.delete',
          target: keyTarget(deleted),
          details: { versions: deleted.currentVersion },
        }),
        () => keyService.delete(c.get('principal'), ref),
        { action: 'key.delete', target: refTarget(ref) },
      )
      return c.body(null, 204)
    })

  // The hot path: documented from `readValue`, but validated in its handler with the same
  // schemas (one synchronous parse, not two async validator middlewares).
  router.openAPIRegistry.registerPath(readValue)
  router.get('/v1/keys/:ref/value', authWithKey, async (c) => {
    const { ref } = parseInput(Ref, { ref: c.req.param('ref') })
    const { version } = parseInput(ValueQuery, { version: c.req.query('version') })
    const item = keyRefItem(c.get('principal').tenantId, ref)
    const prefetched = c.get('prefetched')?.get(`${item.pk}|${item.sk}`)
    const revealed = await audited(
      c,
      audit,
      valueReadEntry,
      () =>
        reveal(c.get('principal'), c.get('organization'), ref, {
          ...(version !== undefined ? { version } : {}),
          ...(prefetched ? { prefetched } : {}),
        }),
      {
        action: 'key.value.read',
        target: refTarget(ref),
        details: { ...(version !== undefined ? { version } : {}) },
      },
    )
    return valueAnswer(c.get('requestId'), revealed, c.get('rateLimit'))
  })

  return router
    .openapi(putValue, async (c) => {
      const { ref } = c.req.valid('param')
      const { value } = c.req.valid('json')
      const record = await audited(
        c,
        audit,
        (updated) => ({
          action: 'key.version.create',
          target: keyTarget(updated),
          details: { version: updated.currentVersion },
        }),
        () => keyService.addVersion(c.get('principal'), ref, value),
        { action: 'key.version.create', target: refTarget(ref) },
      )
      return c.json(describeKey(record), 200)
    })
    .openapi(versions, async (c) => {
      const { versions: items } = await keyService.versions(
        c.get('principal'),
        c.req.valid('param').ref,
      )
      return c.json(
        {
          items: items.map((v) => ({
            version: v.version,
            createdAt: v.createdAt,
            kek: { provider: v.sealed.kek.provider, version: v.sealed.kek.version },
          })),
        },
        200,
      )
    })
}
