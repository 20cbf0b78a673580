import { readFileSync } from 'node:fs'
import type { Hono, MiddlewareHandler } from 'hono'
import type { DashboardEnv } from './env.ts'

const FILES: Record<string, string> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
}

/**
 * The pages' script and styles, read once at start and served from the server itself (no CDN,
 * works offline). Nothing else under /assets exists.
 */
export function registerAssets(
  router: Hono<DashboardEnv>,
  headers: MiddlewareHandler<DashboardEnv>,
): void {
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url))
    router.get(`/assets/${name}`, headers, (c) => c.body(body, 200, { 'content-type': type }))
  }
}
