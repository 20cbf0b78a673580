import { z } from '@hono/zod-openapi'

/** Six digits from the authenticator app (spaces allowed, as apps show them). */
export const TotpCode = z
  .string()
  .trim()
  .min(6)
  .max(12)
  .openapi({ example: '123456', description: 'The current code from the authenticator app' })

export const RecoveryCode = z
  .string()
  .trim()
  .min(16)
  .max(40)
  .openapi({ example: 'ABCD-EFGH-JKMN-PQRS', description: 'One of the recovery codes, once' })

/**
 * What a browser's WebAuthn call answers (`PublicKeyCredential` as JSON, as
 * @simplewebauthn/browser returns it); checked in depth by @simplewebauthn/server.
 */
const b64url = z
  .string()
  .max(8192)
  .regex(/^[A-Za-z0-9_-]*$/)
export const WebAuthnResponse = z
  .object({
    id: b64url.min(1).max(1024),
    rawId: b64url.min(1).max(1024),
    type: z.literal('public-key'),
    response: z.record(z.string(), z.unknown()),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .openapi('WebAuthnResponse')

/** A code, a recovery code or a passkey assertion: exactly one. */
export const FactorFields = {
  code: TotpCode.optional(),
  recoveryCode: RecoveryCode.optional(),
}

export const oneFactor = (body: {
  code?: string | undefined
  recoveryCode?: string | undefined
  passkey?: unknown
}) => [body.code, body.recoveryCode, body.passkey].filter((f) => f !== undefined).length === 1

export const oneFactorMessage = {
  message: 'give exactly one of code, recoveryCode and passkey',
  path: ['code'],
}

export const MfaChallengeSchema = z
  .object({
    challenge: z.string().openapi({
      description: 'Single-use, valid for five minutes, good only for POST /v1/auth/mfa',
    }),
    purpose: z.enum(['verify', 'enrol']).openapi({
      description:
        '`verify`: send a code or recovery code. `enrol`: the organization requires a second factor the person lacks: set one up with POST /v1/auth/mfa/totp, then send its first code',
    }),
    methods: z.array(z.enum(['totp', 'passkey', 'recovery_code'])),
    expiresAt: z.iso.datetime(),
  })
  .openapi('MfaChallenge')

export const TotpEnrolmentSchema = z
  .object({
    secret: z.string().openapi({ description: 'Base32 seed, shown this once' }),
    uri: z.string().openapi({ description: 'The otpauth:// URI for a QR code' }),
    expiresAt: z.iso.datetime().openapi({ description: 'Confirm with a code before this' }),
  })
  .openapi('TotpEnrolment')

export const RecoveryCodesSchema = z
  .array(z.string())
  .openapi({ description: 'Ten single-use recovery codes, shown this once' })
