import type { Hono } from 'hono'
import { z } from 'zod'
import { ENVIRONMENTS } from '../../auth/principal.ts'
import type { Environment } from '../../config.ts'
import { describeKey } from '../../domain/key-description.ts'
import { BUILT_IN_DEFAULTS, resolveMode } from '../../mock/resolve-mode.ts'
import { audited } from '../audit.ts'
import { parseInput } from '../router.ts'
import { keyTarget, REF_PATTERN } from '../routes/key-schemas.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf } from './form.ts'
import { allKeys } from './lists.ts'
import { EnvironmentsPage } from './pages/environments.tsx'
import { frameOf, render } from './render.ts'

const Mode = z.enum(['mock', 'live'])
const Defaults = z.object({ development: Mode, staging: Mode, production: Mode })
const Overrides = z.object({
  development: Mode.nullable(),
  staging: Mode.nullable(),
  production: Mode.nullable(),
})

/** `/environments`: guardrails, the organization's mock defaults, and per-key overrides. */
export function registerEnvironmentPages(
  router: Hono<DashboardEnv>,
  { organizations, keyService, audit, config }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/environments', session, async (c) => {
    const principal = c.get('principal')
    const [org, keys] = await Promise.all([
      organizations.get(principal),
      allKeys(keyService, principal),
    ])
    const defaults = { ...BUILT_IN_DEFAULTS, ...org.mockDefaults }
    const effective = Object.fromEntries(
      ENVIRONMENTS.map((environment) => [
        environment,
        resolveMode({ environment, guardrails: config.mockGuardrails, tenantDefaults: defaults }),
      ]),
    ) as Record<Environment, ReturnType<typeof resolveMode>>
    return render(
      c,
      <EnvironmentsPage
        frame={frameOf(c)}
        guardrails={config.mockGuardrails}
        defaults={defaults}
        effective={effective}
        keys={keys.map(describeKey)}
      />,
    )
  })

  router.post('/environments', session, async (c) => {
    const form = await formOf(c)
    const mockDefaults = parseInput(
      Defaults,
      Object.fromEntries(ENVIRONMENTS.map((env) => [env, form.get(env) ?? ''])),
    )
    await audited(
      c,
      audit,
      (updated) => ({
        action: 'org.update',
        target: { type: 'org', id: updated.tenantId, name: updated.name },
        details: Object.fromEntries(
          Object.entries(mockDefaults).map(([env, mode]) => [`mockDefaults.${env}`, mode]),
        ),
      }),
      () => organizations.update(c.get('principal'), { mockDefaults }),
      { action: 'org.update', target: { type: 'org', id: c.get('principal').tenantId } },
    )
    return c.redirect('/environments', 303)
  })

  router.post('/keys/:id/mock', session, async (c) => {
    const id = parseInput(z.string().regex(REF_PATTERN), c.req.param('id'))
    const form = await formOf(c)
    const mockOverrides = parseInput(
      Overrides,
      Object.fromEntries(ENVIRONMENTS.map((env) => [env, form.get(env) || null])),
    )
    await audited(
      c,
      audit,
      (updated) => ({
        action: 'key.update',
        target: keyTarget(updated),
        details: {
          fields: 'mockOverrides',
          ...Object.fromEntries(
            Object.entries(mockOverrides).map(([env, mode]) => [`mockOverrides.${env}`, mode]),
          ),
        },
      }),
      () => keyService.update(c.get('principal'), id, { mockOverrides }),
      { action: 'key.update', target: { type: 'key', id, name: null } },
    )
    return c.redirect('/environments', 303)
  })
}
