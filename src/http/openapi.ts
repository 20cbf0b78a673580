import type { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from './env.ts'

export const OPENAPI_INFO = {
  title: 'Keystash API',
  version: '0.1.0',
  description:
    'A self-hostable vault for third-party API keys. Values are envelope-encrypted with a data key per version under a KMS key-encryption key; applications read them with scoped, expiring, revocable access tokens. Every error is RFC 9457 problem+json with a stable `code` and the `requestId`.',
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
} as const

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A session token (from sign-up or login) or an access token (from POST /v1/tokens).',
  })
}

export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  return app.getOpenAPI31Document({ openapi: '3.1.0', info: { ...OPENAPI_INFO } })
}
