import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import type { RegistrationResponseJSON } from '../../auth/passkeys.ts'
import type { MfaService } from '../../domain/mfa.ts'
import { audited, type RequestAudit } from '../audit.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { bearer, problems } from '../schemas.ts'
import {
  FactorFields,
  oneFactor,
  oneFactorMessage,
  RecoveryCodesSchema,
  TotpCode,
  TotpEnrolmentSchema,
  WebAuthnResponse,
} from './mfa-schemas.ts'

const noStore = { 'cache-control': 'no-store' }
const json = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})

const PasskeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .openapi('Passkey')

const MfaStatusSchema = z
  .object({
    totp: z.object({ enabled: z.boolean(), confirmedAt: z.iso.datetime().nullable() }),
    passkeys: z.array(PasskeySchema),
    recoveryCodesRemaining: z.number().int(),
  })
  .openapi('MfaStatus')

const MfaPolicySchema = z
  .object({
    required: z.boolean().openapi({
      description: 'Every member’s session must have used a second factor',
    }),
  })
  .openapi('MfaPolicy')

const describe = createRoute({
  method: 'get',
  path: '/v1/me/mfa',
  tags: ['mfa'],
  summary: 'The caller’s second factors',
  security: bearer,
  responses: {
    200: {
      description: 'Second factors',
      content: { 'application/json': { schema: MfaStatusSchema } },
    },
    ...problems(401, 403),
  },
})

const startTotp = createRoute({
  method: 'post',
  path: '/v1/me/mfa/totp',
  tags: ['mfa'],
  summary: 'Start setting up an authenticator app: a new seed, shown once',
  security: bearer,
  responses: {
    200: {
      description: 'Confirm it with POST /v1/me/mfa/totp/confirm',
      content: { 'application/json': { schema: TotpEnrolmentSchema } },
    },
    ...problems(401, 403, 409),
  },
})

const confirmTotp = createRoute({
  method: 'post',
  path: '/v1/me/mfa/totp/confirm',
  tags: ['mfa'],
  summary: 'Confirm the authenticator app with its first code; returns the recovery codes',
  security: bearer,
  request: { body: json(z.strictObject({ code: TotpCode })) },
  responses: {
    200: {
      description: 'Set up',
      content: { 'application/json': { schema: z.object({ recoveryCodes: RecoveryCodesSchema }) } },
    },
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
})

const removeTotp = createRoute({
  // A POST: the code travels in the body, and DELETE requests carry none in this API.
  method: 'post',
  path: '/v1/me/mfa/totp/remove',
  tags: ['mfa'],
  summary: 'Remove the authenticator app and the recovery codes (needs a code from either)',
  security: bearer,
  request: {
    body: json(z.strictObject({ ...FactorFields }).refine(oneFactor, oneFactorMessage)),
  },
  responses: { 204: { description: 'Removed' }, ...problems(400, 401, 403, 409, 413, 415, 422) },
})

const renewCodes = createRoute({
  method: 'post',
  path: '/v1/me/mfa/recovery-codes',
  tags: ['mfa'],
  summary: 'Replace the unused recovery codes with ten new ones (needs a current code)',
  security: bearer,
  request: { body: json(z.strictObject({ code: TotpCode })) },
  responses: {
    200: {
      description: 'The new codes, shown this once',
      content: { 'application/json': { schema: z.object({ recoveryCodes: RecoveryCodesSchema }) } },
    },
    ...problems(400, 401, 403, 413, 415, 422),
  },
})

const passkeyOptions = createRoute({
  method: 'post',
  path: '/v1/me/mfa/passkeys/options',
  tags: ['mfa'],
  summary: 'WebAuthn creation options for adding a passkey (single-use, five minutes)',
  security: bearer,
  responses: {
    200: {
      description: 'PublicKeyCredentialCreationOptions as JSON, for navigator.credentials.create()',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
    ...problems(400, 401, 403),
  },
})

const addPasskey = createRoute({
  method: 'post',
  path: '/v1/me/mfa/passkeys',
  tags: ['mfa'],
  summary: 'Keep the passkey the browser created with those options',
  security: bearer,
  request: {
    body: json(
      z.strictObject({
        name: z.string().trim().min(1).max(100).default('Passkey'),
        response: WebAuthnResponse,
      }),
    ),
  },
  responses: {
    201: {
      description: 'Added; a first factor also brings the recovery codes, shown this once',
      content: {
        'application/json': {
          schema: z.object({
            passkey: z.object({ id: z.string(), name: z.string(), createdAt: z.iso.datetime() }),
            recoveryCodes: RecoveryCodesSchema.optional(),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
})

const getPolicy = createRoute({
  method: 'get',
  path: '/v1/org/mfa',
  tags: ['mfa'],
  summary: 'Whether the organization requires a second factor',
  security: bearer,
  responses: {
    200: {
      description: 'The policy',
      content: { 'application/json': { schema: MfaPolicySchema } },
    },
    ...problems(401, 403),
  },
})

const putPolicy = createRoute({
  method: 'put',
  path: '/v1/org/mfa',
  tags: ['mfa'],
  summary:
    'Require a second factor of every member (owner only, from a session that used one); sessions without one stop working',
  security: bearer,
  request: { body: json(z.strictObject({ required: z.boolean() })) },
  responses: {
    200: {
      description: 'The policy',
      content: { 'application/json': { schema: MfaPolicySchema } },
    },
    ...problems(400, 401, 403, 413, 415, 422),
  },
})

/** A person's own second factors, and the organization's "MFA required" switch. */
export function mfaRoutes({
  mfa,
  authenticator,
  audit,
  onPolicyChanged,
}: {
  mfa: MfaService
  authenticator: Pick<Authenticator, 'authenticate'>
  audit: RequestAudit
  /** Cached token statuses hold the organization as it was: they are dropped on a change. */
  onPolicyChanged?: () => void
}) {
  const router = createRouter()
  router.use('/v1/me/mfa', requireAuth({ authenticator }))
  router.use('/v1/me/mfa/*', requireAuth({ authenticator }))
  router.use('/v1/org/mfa', requireAuth({ authenticator }))
  const self = (principal: { userId?: string | undefined; tokenId: string }) => ({
    type: 'user' as const,
    id: principal.userId ?? principal.tokenId,
  })
  return router
    .openapi(describe, async (c) => {
      const principal = c.get('principal')
      if (principal.kind !== 'session' || !principal.userId) {
        return c.json(
          { totp: { enabled: false, confirmedAt: null }, passkeys: [], recoveryCodesRemaining: 0 },
          200,
        )
      }
      return c.json(await mfa.describe(principal.userId), 200)
    })
    .openapi(startTotp, async (c) => c.json(await mfa.startTotp(c.get('principal')), 200, noStore))
    .openapi(confirmTotp, async (c) => {
      const principal = c.get('principal')
      const recoveryCodes = await audited(
        c,
        audit,
        { action: 'auth.mfa.enrol', target: self(principal), details: { method: 'totp' } },
        () => mfa.confirmTotp(principal, c.req.valid('json').code),
      )
      return c.json({ recoveryCodes }, 200, noStore)
    })
    .openapi(removeTotp, async (c) => {
      const principal = c.get('principal')
      await audited(c, audit, { action: 'auth.mfa.remove', target: self(principal) }, () =>
        mfa.removeTotp(principal, c.get('organization'), c.req.valid('json')),
      )
      return c.body(null, 204)
    })
    .openapi(renewCodes, async (c) => {
      const principal = c.get('principal')
      const recoveryCodes = await audited(
        c,
        audit,
        { action: 'auth.mfa.recovery_codes', target: self(principal) },
        () => mfa.renewRecoveryCodes(principal, c.req.valid('json').code),
      )
      return c.json({ recoveryCodes }, 200, noStore)
    })
    .openapi(passkeyOptions, async (c) => {
      const options = await mfa.passkeyRegistrationOptions(c.get('principal'))
      return c.json(options as unknown as Record<string, unknown>, 200, noStore)
    })
    .openapi(addPasskey, async (c) => {
      const principal = c.get('principal')
      const { name, response } = c.req.valid('json')
      const added = await audited(
        c,
        audit,
        { action: 'auth.mfa.enrol', target: self(principal), details: { method: 'passkey' } },
        () => mfa.registerPasskey(principal, response as unknown as RegistrationResponseJSON, name),
      )
      return c.json(added, 201, noStore)
    })
    .openapi(getPolicy, (c) =>
      c.json({ required: c.get('organization').mfaRequired === true }, 200),
    )
    .openapi(putPolicy, async (c) => {
      const { required } = c.req.valid('json')
      const organization = c.get('organization')
      const updated = await audited(
        c,
        audit,
        {
          action: 'org.update',
          target: { type: 'org', id: organization.tenantId, name: organization.name },
          details: { mfaRequired: required },
        },
        () => mfa.setRequired(c.get('principal'), organization, required),
      )
      onPolicyChanged?.()
      return c.json({ required: updated.mfaRequired === true }, 200)
    })
}
