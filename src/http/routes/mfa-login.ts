import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { outcomeOf } from '../../audit/events.ts'
import type { AuthenticationResponseJSON } from '../../auth/passkeys.ts'
import type { AccountService } from '../../domain/accounts.ts'
import type { MfaService } from '../../domain/mfa.ts'
import type { AppError } from '../../errors.ts'
import { auditSuccess, type RequestAudit } from '../audit.ts'
import { clientOf } from '../client.ts'
import type { AppEnv } from '../env.ts'
import { createRouter } from '../router.ts'
import { problems } from '../schemas.ts'
import {
  FactorFields,
  oneFactor,
  oneFactorMessage,
  RecoveryCodesSchema,
  TotpEnrolmentSchema,
  WebAuthnResponse,
} from './mfa-schemas.ts'

const noStore = { 'cache-control': 'no-store' }
const Challenge = z.string().min(1).max(200)

const complete = createRoute({
  method: 'post',
  path: '/v1/auth/mfa',
  tags: ['auth'],
  summary: 'Second step of a login: a code, a recovery code, or the first code of a new factor',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              challenge: Challenge,
              ...FactorFields,
              passkey: WebAuthnResponse.optional(),
            })
            .refine(oneFactor, oneFactorMessage),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Logged in',
      content: {
        'application/json': {
          schema: z.object({
            session: z.object({ token: z.string(), expiresAt: z.iso.datetime() }),
            recoveryCodes: RecoveryCodesSchema.optional().openapi({
              description: 'After setting up a factor during login: ten codes, shown this once',
            }),
          }),
        },
      },
    },
    ...problems(400, 401, 409, 413, 415, 422, 429),
  },
})

const enrol = createRoute({
  method: 'post',
  path: '/v1/auth/mfa/totp',
  tags: ['auth'],
  summary: 'Set up an authenticator app during a login that requires a second factor',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.strictObject({ challenge: Challenge }) } },
    },
  },
  responses: {
    200: {
      description: 'A new seed; confirm it by sending its first code to POST /v1/auth/mfa',
      content: { 'application/json': { schema: TotpEnrolmentSchema } },
    },
    ...problems(400, 401, 409, 413, 415, 422),
  },
})

const passkeyOptions = createRoute({
  method: 'post',
  path: '/v1/auth/mfa/passkey',
  tags: ['auth'],
  summary: 'WebAuthn request options for answering a login challenge with a passkey',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.strictObject({ challenge: Challenge }) } },
    },
  },
  responses: {
    200: {
      description:
        'PublicKeyCredentialRequestOptions as JSON, for navigator.credentials.get(); send the answer as `passkey` to POST /v1/auth/mfa',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
    ...problems(400, 401, 409, 413, 415, 422),
  },
})

/** The step between a correct password and a session, for people with a second factor. */
export function mfaLoginRoutes({
  accounts,
  mfa,
  audit,
}: {
  accounts: Pick<AccountService, 'completeMfa'>
  mfa: Pick<MfaService, 'startTotpForChallenge' | 'passkeyOptionsForChallenge'>
  audit: RequestAudit
}) {
  return createRouter()
    .openapi(complete, async (c) => {
      const { challenge, code, recoveryCode, passkey } = c.req.valid('json')
      const result = await accounts.completeMfa(
        {
          challenge,
          code,
          recoveryCode,
          passkey: passkey as AuthenticationResponseJSON | undefined,
          address: clientOf(c).address,
        },
        { failed: (who, error) => auditFailure(c, audit, who, error) },
      )
      const actor = { type: 'user', id: result.userId, name: result.email } as const
      if (result.recoveryCodes) {
        await auditSuccess(c, audit, {
          action: 'auth.mfa.enrol',
          tenantId: result.tenantId,
          actor,
          target: { type: 'user', id: result.userId, name: result.email },
          details: { method: 'totp', duringLogin: true },
        })
      }
      await auditSuccess(c, audit, {
        action: 'auth.login',
        tenantId: result.tenantId,
        actor,
        target: { type: 'user', id: result.userId, name: result.email },
        details: { secondFactor: result.method },
      })
      return c.json(
        {
          session: result.session,
          ...(result.recoveryCodes ? { recoveryCodes: result.recoveryCodes } : {}),
        },
        200,
        noStore,
      )
    })
    .openapi(enrol, async (c) => {
      const enrolment = await mfa.startTotpForChallenge(c.req.valid('json').challenge)
      return c.json(enrolment, 200, noStore)
    })
    .openapi(passkeyOptions, async (c) => {
      const options = await mfa.passkeyOptionsForChallenge(c.req.valid('json').challenge)
      return c.json(options as unknown as Record<string, unknown>, 200, noStore)
    })
}

/** A wrong second factor is filed under the person's organization, like a wrong password. */
export function auditFailure(
  c: Context<AppEnv>,
  audit: RequestAudit,
  who: { userId: string; tenantId: string; email: string },
  error: AppError,
) {
  return audit.record({
    tenantId: who.tenantId,
    action: 'auth.login',
    actor: { type: 'user', id: who.userId, name: who.email },
    outcome: outcomeOf(error),
    requestId: c.get('requestId'),
    traceId: c.get('trace')?.traceId ?? null,
    client: clientOf(c),
    details: { step: 'second_factor' },
  })
}
