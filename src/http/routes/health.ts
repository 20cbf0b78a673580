import { createRoute, z } from '@hono/zod-openapi'
import { createRouter } from '../router.ts'

/** A readiness probe: resolves when the dependency answers, rejects otherwise. */
export type Probe = () => Promise<void>

export interface HealthDeps {
  probes: Record<string, Probe>
  probeTimeoutMs?: number
  /** True once the instance is shutting down: readiness fails without asking the probes. */
  stopping?: () => boolean
}

const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health')
const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'unavailable', 'stopping']),
    checks: z.record(z.string(), z.enum(['ok', 'unavailable'])),
  })
  .openapi('Readiness')

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness: the process is up',
  responses: {
    200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } },
  },
})

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness: storage and key management answer',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadinessSchema } } },
    503: {
      description:
        'A dependency does not answer (`checks` says which), or the instance is shutting down (`stopping`)',
      content: { 'application/json': { schema: ReadinessSchema } },
    },
  },
})

export function healthRoutes({ probes, probeTimeoutMs = 2000, stopping }: HealthDeps) {
  return createRouter()
    .openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readyz, async (c) => {
      c.header('cache-control', 'no-store')
      if (stopping?.()) return c.json({ status: 'stopping' as const, checks: {} }, 503)
      const names = Object.keys(probes)
      const results = await Promise.all(
        names.map((name) =>
          withTimeout(probes[name], probeTimeoutMs).then(
            () => 'ok' as const,
            (error: unknown) => {
              c.get('log').warn({ check: name, err: describe(error) }, 'readiness check failed')
              return 'unavailable' as const
            },
          ),
        ),
      )
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i] ?? 'unavailable']))
      const ready = results.every((r) => r === 'ok')
      return ready
        ? c.json({ status: 'ready' as const, checks }, 200)
        : c.json({ status: 'unavailable' as const, checks }, 503)
    })
}

async function withTimeout(probe: Probe | undefined, ms: number): Promise<void> {
  if (!probe) throw new Error('no probe')
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  try {
    await Promise.race([probe(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
