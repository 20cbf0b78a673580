import { z } from '@hono/zod-openapi'
import { providers } from '../../mock/fake-values.ts'

// The key routes' schemas (keys.ts, key-values.ts), the dashboard's and the value read's.

/** A key's name, and so what `{ref}` may be (a key id has this shape too). */
// `.` and `..` are path segments that URLs resolve away: a key so named could never be reached.
export const REF_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,128}$/
export const KeyNameSchema = z
  .string()
  .regex(REF_PATTERN, '1-128 of A-Z a-z 0-9 _ . -, other than . and ..')
export const Ref = z.object({
  ref: z.string().regex(REF_PATTERN).openapi({ description: 'A key id (key_...) or a key name' }),
})
export const ValueQuery = z.object({ version: z.coerce.number().int().min(1).optional() })
export const Provider = z.enum(providers)
export const TagsSchema = z
  .array(z.string().regex(/^[A-Za-z0-9_.:=/-]{1,64}$/, '1-64 of A-Z a-z 0-9 _ . : = / -'))
  .max(20)
export const DescriptionSchema = z.string().max(1000)
// With the `u` flag, a surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
export const Value = z
  .string()
  .min(1)
  // A lone surrogate has no UTF-8 form: storing it would silently turn it into U+FFFD.
  .refine(
    (value) => !LONE_SURROGATE.test(value),
    'must be well-formed Unicode (no lone surrogates)',
  )
  .openapi({ description: '1 byte to 16 KiB of UTF-8, stored exactly as sent', format: 'password' })
export const ExpiresAt = z.iso
  .datetime({ offset: true })
  .openapi({ description: 'When the provider key itself expires' })
export const RotateEveryDays = z.number().int().min(1).max(3650).openapi({
  description:
    'Replace the provider key this often; rotationDueAt follows from the current version',
})
const ModeSetting = z.enum(['mock', 'live'])
export const MockOverrides = z
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

export const KeyValueSchema = z
  .object({
    keyId: z.string(),
    name: z.string(),
    provider: Provider,
    version: z.number().int(),
    value: z.string(),
    mode: ModeSchema,
  })
  .openapi('KeyValue')

export const VersionSchema = z
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

/** A key named by the caller's `{ref}`, before it is known to exist. */
export const refTarget = (ref: string) => ({ type: 'key' as const, id: ref })
