import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { createApp } from '../../src/app.ts'
import { createAwsClients } from '../../src/aws.ts'
import { loadConfig } from '../../src/config.ts'
import { buildDeps } from '../../src/deps.ts'
import { DOCUMENT_HEADERS } from '../../src/http/response-headers.ts'
import { createLogger } from '../../src/logger.ts'
import { generateOpenApi } from '../../tools/openapi-document.ts'

describe('the OpenAPI contract', () => {
  it('is committed as openapi.yaml exactly as the code generates it (run `npm run openapi`)', () => {
    const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')
    expect(committed).toBe(generateOpenApi().yaml)
  })

  it('is served at /openapi.json as an OpenAPI 3.1 document equal to openapi.yaml', async () => {
    const config = loadConfig({})
    const app = createApp(
      buildDeps(config, createLogger({ level: 'silent' }), createAwsClients(config)),
    )
    const res = await app.request('/openapi.json')
    expect(res.status).toBe(200)
    const served = (await res.json()) as Record<string, unknown>
    expect(served.openapi).toBe('3.1.0')
    const committed = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
    expect(served).toEqual(committed)
  })

  it('serves /docs with assets from the server itself', async () => {
    const config = loadConfig({})
    const app = createApp(
      buildDeps(config, createLogger({ level: 'silent' }), createAwsClients(config)),
    )
    const page = await app.request('/docs')
    expect(page.status).toBe(200)
    const html = await page.text()
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(urls.length).toBeGreaterThan(2)
    for (const url of urls) {
      expect(url.startsWith('/')).toBe(true)
      expect((await app.request(url)).status).toBe(200)
    }
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    // A page gets the document headers on top of the API set.
    for (const [name, value] of Object.entries(DOCUMENT_HEADERS)) {
      expect(page.headers.get(name)).toBe(value)
    }
    expect(page.headers.get('x-frame-options')).toBe('DENY')
  })
})
