import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { MAX_DEK_TTL_SECONDS } from '../../crypto/dek-cache.ts'
import type { EncryptionService } from '../../domain/encryption.ts'
import type { RekeyingService } from '../../domain/rekeying.ts'
import { clientOf } from '../client.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, json, problems } from '../schemas.ts'

const KekProvider = z.enum(['platform', 'aws-kms', 'raw'])
const KeyArn = z
  .string()
  // The region must look like one (us-east-1, us-gov-west-1): anything else would reach the
  // SDK as an endpoint it cannot resolve, answered as an outage that clients retry forever.
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:key\/[A-Za-z0-9-]{1,128}$/,
    'a KMS key ARN',
  )
const Ttl = z.number().int().min(0).max(MAX_DEK_TTL_SECONDS).nullable().optional().openapi({
  description:
    "Seconds a server may keep your data keys cached; may only lower the server's TTL. null: the server's.",
})

export const PutEncryptionBody = z
  .discriminatedUnion('provider', [
    z.strictObject({ provider: z.literal('platform'), dataKeyCacheTtlSeconds: Ttl }),
    z.strictObject({
      provider: z.literal('aws-kms'),
      keyArn: KeyArn,
      replicaArns: z.array(KeyArn).max(5).optional().openapi({
        description: 'Multi-Region replicas of keyArn, tried in order when its region fails',
      }),
      roleArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN')
        .optional()
        .openapi({ description: 'Assumed with STS and your organization’s externalId' }),
      dataKeyCacheTtlSeconds: Ttl,
    }),
    z.strictObject({
      provider: z.literal('raw'),
      material: z.string().max(128).openapi({
        description: '32 random bytes, base64. Never shown again.',
        format: 'password',
      }),
      dataKeyCacheTtlSeconds: Ttl,
    }),
  ])
  .openapi('PutEncryption')

const KekVersionSchema = z.object({
  version: z.number().int(),
  provider: KekProvider,
  keyId: z.string().nullable(),
  status: z.enum(['active', 'retiring', 'retired']),
  createdAt: z.string().nullable(),
  retiredAt: z.string().nullable(),
})

const JobSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['reencrypt', 'rekey']).openapi({
      description:
        'reencrypt: data keys move to a new KEK version; rekey: every value gets a fresh data key',
    }),
    status: z.enum(['pending', 'running', 'finished', 'failed', 'superseded']),
    targetVersion: z.number().int(),
    total: z.number().int(),
    done: z.number().int(),
    failed: z.number().int(),
    failures: z.array(z.object({ keyId: z.string(), version: z.number().int(), code: z.string() })),
    pass: z.number().int(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('ReencryptionJob')

/**
 * A job or null. Not `JobSchema.nullable()`: on a registered schema that is documented as
 * `allOf: [$ref, {type: [object, null]}]`, which null does not match (the $ref wants an object).
 */
const NullableJob = z.union([JobSchema, z.null()])

const PeriodDays = z.number().int().min(0).max(3650).openapi({
  description: 'Days between scheduled re-keys (365 by default); 0 turns the schedule off',
})

const RekeySchema = z
  .object({
    periodDays: PeriodDays,
    nextDueAt: z.string().nullable().openapi({ description: 'null: no scheduled re-key' }),
    lastRekeyAt: z.string().nullable(),
    job: NullableJob.openapi({ description: 'The last re-keying job; null: none yet' }),
  })
  .openapi('Rekeying')

const KekRotationSchema = z
  .object({
    automatic: z.enum(['enabled', 'disabled', 'unknown']).nullable().openapi({
      description:
        'aws-kms: the KMS key’s automatic rotation (GetKeyRotationStatus); unknown when the key policy does not allow reading it. null for other providers',
    }),
    rotationPeriodInDays: z.number().int().nullable(),
    nextRotationAt: z.string().nullable(),
    unknownBecause: z.string().nullable().openapi({ description: 'The error code behind unknown' }),
    replaceMaterialBy: z.string().nullable().openapi({
      description:
        'raw: supply new material by then (the re-keying period, counted from when it was set)',
    }),
    materialRotationDue: z.boolean().openapi({
      description: 'raw: the end of the material’s period is near; supply new material',
    }),
  })
  .openapi('KekRotation')

const EncryptionSchema = z
  .object({
    provider: KekProvider,
    kekVersion: z.number().int(),
    keyId: z.string().nullable().openapi({ description: 'Key ARN, or raw key id; null: platform' }),
    status: z.enum(['active', 'retiring', 'retired']),
    createdAt: z.string().nullable(),
    replicaArns: z.array(z.string()),
    roleArn: z.string().nullable(),
    externalId: z.string().openapi({ description: 'What Keystash passes to sts:AssumeRole' }),
    dataKeyCacheTtlSeconds: z.number().int().openapi({ description: 'The TTL in force' }),
    serverDataKeyCacheTtlSeconds: z.number().int(),
    versions: z.array(KekVersionSchema),
    job: NullableJob.openapi({
      description:
        'The job moving data keys to the active KEK version; null: it has none (the first version)',
    }),
    rekey: RekeySchema,
    kekRotation: KekRotationSchema,
  })
  .openapi('Encryption')

export function encryptionRoutes(deps: {
  encryption: EncryptionService
  rekeying: RekeyingService
  authenticator: Pick<Authenticator, 'authenticate'>
}) {
  const { encryption } = deps
  const auth = requireAuth({ authenticator: deps.authenticator })

  const get = createRoute({
    method: 'get',
    path: '/v1/org/encryption',
    tags: ['encryption'],
    summary: 'Describe the organization’s key-encryption key, versions and data-key cache TTL',
    security: bearer,
    middleware: [auth] as const,
    responses: {
      200: { description: 'The encryption settings', content: json(EncryptionSchema) },
      ...problems(401, 403),
    },
  })

  const put = createRoute({
    method: 'put',
    path: '/v1/org/encryption',
    tags: ['encryption'],
    summary: 'Bring your own key: validate a new KEK, make it active, re-encrypt data keys to it',
    security: bearer,
    middleware: [auth] as const,
    request: { body: { required: true, content: json(PutEncryptionBody) } },
    responses: {
      200: { description: 'The new settings', content: json(EncryptionSchema) },
      ...problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
  })

  const job = createRoute({
    method: 'get',
    path: '/v1/org/encryption/jobs/{id}',
    tags: ['encryption'],
    summary: 'Progress of a re-encryption job',
    security: bearer,
    middleware: [auth] as const,
    request: { params: z.object({ id: z.string().regex(/^job_[0-9a-z]{26}$/) }) },
    responses: {
      200: { description: 'The job', content: json(JobSchema) },
      ...problems(401, 403, 404, 422),
    },
  })

  const forceRekey = createRoute({
    method: 'post',
    path: '/v1/org/encryption/rekey',
    tags: ['encryption'],
    summary: 'Re-key now: give every stored value a fresh data key (a background job)',
    security: bearer,
    middleware: [auth] as const,
    responses: {
      202: { description: 'The re-keying job, started', content: json(JobSchema) },
      ...problems(401, 403, 409),
    },
  })

  const setPeriod = createRoute({
    method: 'put',
    path: '/v1/org/encryption/rekey',
    tags: ['encryption'],
    summary: 'Set how often values get fresh data keys',
    security: bearer,
    middleware: [auth] as const,
    request: {
      body: {
        required: true,
        content: json(z.strictObject({ periodDays: PeriodDays }).openapi('PutRekeying')),
      },
    },
    responses: {
      200: { description: 'The re-keying settings', content: json(RekeySchema) },
      ...problems(400, 401, 403, 409, 413, 415, 422),
    },
  })

  const meta = (c: Parameters<typeof clientOf>[0], requestId: string) => {
    const { address, userAgent } = clientOf(c)
    return { requestId, client: { address: address ?? null, userAgent: userAgent ?? null } }
  }

  return createRouter()
    .openapi(forceRekey, async (c) =>
      c.json(await deps.rekeying.force(c.get('principal'), meta(c, c.get('requestId'))), 202),
    )
    .openapi(setPeriod, async (c) => {
      const principal = c.get('principal')
      const { periodDays } = c.req.valid('json')
      await deps.rekeying.setPeriod(principal, periodDays, meta(c, c.get('requestId')))
      return c.json(await deps.rekeying.describe(principal.tenantId), 200)
    })
    .openapi(get, async (c) => c.json(await encryption.describe(c.get('principal')), 200))
    .openapi(put, async (c) => {
      const { address, userAgent } = clientOf(c)
      const view = await encryption.configure(c.get('principal'), c.req.valid('json'), {
        requestId: c.get('requestId'),
        traceId: c.get('trace')?.traceId,
        client: { address: address ?? null, userAgent: userAgent ?? null },
      })
      return c.json(view, 200)
    })
    .openapi(job, async (c) =>
      c.json(await encryption.job(c.get('principal'), c.req.valid('param').id), 200),
    )
}
