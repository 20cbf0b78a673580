import { createRoute, z } from '@hono/zod-openapi'
import type { Authenticator } from '../../auth/authenticate.ts'
import { environmentSchema } from '../../auth/principal.ts'
import { roleSchema } from '../../auth/roles.ts'
import { scopeSchema } from '../../auth/scopes.ts'
import type { SigningKeyRing } from '../../auth/signing-keys.ts'
import { requireAuth } from '../middleware/auth.ts'
import { createRouter } from '../router.ts'
import { problems } from '../schemas.ts'

const MeSchema = z
  .object({
    kind: z.enum(['session', 'access']),
    tokenId: z.string(),
    tenantId: z.string(),
    userId: z.string().nullable(),
    role: roleSchema.nullable().openapi({
      description:
        'A session’s role in the organization (its scopes are the role’s); null for access tokens',
    }),
    productionReveal: z.boolean().nullable().openapi({
      description:
        'A session’s grant to reveal production values (developers); null for access tokens',
    }),
    name: z.string().nullable(),
    scopes: z.array(scopeSchema),
    keys: z.array(z.string()).nullable(),
    cidrs: z
      .array(z.string())
      .nullable()
      .openapi({ description: 'Address ranges the token may be used from; null: anywhere' }),
    ancestors: z.array(z.string()).nullable().openapi({
      description: 'The tokens above this one in the token tree, root first; null for a session',
    }),
    environment: environmentSchema.nullable(),
    expiresAt: z.iso.datetime(),
  })
  .openapi('Me')

const me = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['auth'],
  summary: 'Describe the caller: user or access token, tenant, scopes, environment, expiry',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'The caller', content: { 'application/json': { schema: MeSchema } } },
    ...problems(401),
  },
})

const jwks = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['auth'],
  summary: 'Public keys that verify Keystash tokens (EdDSA, Ed25519)',
  responses: {
    200: {
      description: 'JSON Web Key Set',
      content: {
        'application/json': {
          schema: z.object({
            keys: z.array(
              z.object({
                kty: z.literal('OKP'),
                crv: z.literal('Ed25519'),
                x: z.string(),
                kid: z.string(),
                alg: z.literal('EdDSA'),
                use: z.literal('sig'),
              }),
            ),
          }),
        },
      },
    },
  },
})

export function meRoutes({
  authenticator,
  ring,
}: {
  authenticator: Pick<Authenticator, 'authenticate'>
  ring: Pick<SigningKeyRing, 'jwks'>
}) {
  const router = createRouter()
  router.use('/v1/me', requireAuth({ authenticator }))
  return router
    .openapi(me, (c) => {
      const p = c.get('principal')
      return c.json(
        {
          kind: p.kind,
          tokenId: p.tokenId,
          tenantId: p.tenantId,
          userId: p.userId ?? null,
          role: p.member?.role ?? null,
          productionReveal: p.member ? p.member.productionReveal : null,
          name: p.name ?? null,
          scopes: p.scopes,
          keys: p.keys ?? null,
          cidrs: p.cidrs ?? null,
          ancestors: p.kind === 'access' ? (p.ancestors ?? []) : null,
          environment: p.environment ?? null,
          expiresAt: p.expiresAt.toISOString(),
        },
        200,
      )
    })
    .openapi(jwks, async (c) =>
      c.json(await ring.jwks(), 200, { 'cache-control': 'public, max-age=300' }),
    )
}
