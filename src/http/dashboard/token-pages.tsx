import type { Hono } from 'hono'
import { z } from 'zod'
import { environmentSchema } from '../../auth/principal.ts'
import { keyRestrictionsSchema, scopeSchema } from '../../auth/scopes.ts'
import { describeToken } from '../../domain/tokens.ts'
import { audited, auditSuccess } from '../audit.ts'
import { parseInput } from '../router.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf, listField } from './form.ts'
import { allTokens } from './lists.ts'
import { MintedPage, TokensPage } from './pages/tokens.tsx'
import { frameOf, render } from './render.ts'
import { unusedFor } from './review.ts'

// The API's rules for minting (routes/tokens.ts); the service enforces the rest.
const NewToken = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(scopeSchema).min(1, 'choose at least one scope').max(6),
  keys: keyRestrictionsSchema.optional(),
  environment: environmentSchema,
  expiresIn: z.coerce.number().int().positive(),
})
const Unused = z.enum(['30', '90']).optional()

/** Tokens: list and filter by unused, mint (the string shown once), revoke. */
export function registerTokenPages(
  router: Hono<DashboardEnv>,
  { tokens, audit, clock, config }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/tokens', session, async (c) => {
    const unused = parseInput(Unused, c.req.query('unused') || undefined)
    const unusedDays = unused ? Number(unused) : undefined
    const all = (await allTokens(tokens, c.get('principal'))).map(describeToken)
    const shown = unusedDays ? unusedFor(all, unusedDays, clock.now()) : all
    return render(
      c,
      <TokensPage
        frame={frameOf(c)}
        tokens={shown}
        unusedDays={unusedDays}
        maxLifetimeSeconds={config.auth.tokenMaxTtlSeconds}
      />,
    )
  })

  router.post('/tokens', session, async (c) => {
    const form = await formOf(c)
    const keys = listField(form.get('keys'))
    const input = parseInput(NewToken, {
      name: form.get('name') ?? '',
      scopes: form.getAll('scopes'),
      keys: keys.length > 0 ? keys : undefined,
      environment: form.get('environment') ?? '',
      expiresIn: form.get('expiresIn') ?? '',
    })
    const { token, record } = await tokens.create(c.get('principal'), {
      name: input.name,
      scopes: input.scopes,
      expiresAt: new Date(clock.now() + input.expiresIn * 1000),
      environment: input.environment,
      ...(input.keys ? { keys: input.keys } : {}),
    })
    await auditSuccess(c, audit, {
      action: 'token.create',
      target: { type: 'token', id: record.tokenId, name: record.name ?? null },
      details: {
        scopes: record.scopes.join(' '),
        environment: record.environment ?? null,
        keys: record.keys?.join(' ') ?? null,
        expiresAt: record.expiresAt,
      },
    })
    // Answered directly, not redirected: the string exists in this response and nowhere else.
    return render(
      c,
      <MintedPage frame={frameOf(c)} token={describeToken(record)} value={token} />,
      201,
    )
  })

  router.post('/tokens/:id/revoke', session, async (c) => {
    const id = parseInput(z.string().max(64), c.req.param('id'))
    await audited(c, audit, { action: 'token.revoke', target: { type: 'token', id } }, () =>
      tokens.revoke(c.get('principal'), id),
    )
    return c.redirect('/tokens', 303)
  })
}
