import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Hono, MiddlewareHandler } from 'hono'
import type { DashboardEnv } from './env.ts'

const resolve = createRequire(import.meta.url).resolve
const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

const FILES: Record<string, { file: URL | string; type: string }> = {
  'dashboard.js': { file: new URL('./assets/dashboard.js', import.meta.url), type: JS },
  'dashboard.css': { file: new URL('./assets/dashboard.css', import.meta.url), type: CSS },
  'usage.js': { file: new URL('./assets/usage.js', import.meta.url), type: JS },
  'encryption.js': { file: new URL('./assets/encryption.js', import.meta.url), type: JS },
  'one-time-link.js': { file: new URL('./assets/one-time-link.js', import.meta.url), type: JS },
  // uPlot (MIT, about 50 kB) draws the usage charts; served from node_modules, never a CDN.
  'uplot.js': { file: resolve('uplot/dist/uPlot.iife.min.js'), type: JS },
  'uplot.css': { file: resolve('uplot/dist/uPlot.min.css'), type: CSS },
  'passkeys.js': { file: new URL('./assets/passkeys.js', import.meta.url), type: JS },
  // @simplewebauthn/browser (MIT, about 10 kB): the WebAuthn calls for passkeys.
  // Its exports map hides the bundle, so it is found next to the package's entry point.
  'webauthn.js': {
    file: join(dirname(resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js'),
    type: JS,
  },
}

/**
 * The pages' scripts and styles, read once at start and served from the server itself (works
 * offline). Nothing else under /assets exists.
 */
export function registerAssets(
  router: Hono<DashboardEnv>,
  headers: MiddlewareHandler<DashboardEnv>,
): void {
  for (const [name, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(file)
    router.get(`/assets/${name}`, headers, (c) => c.body(body, 200, { 'content-type': type }))
  }
}
