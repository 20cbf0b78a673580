import type { Context } from 'hono'
import type { JSX } from 'hono/jsx/jsx-runtime'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { DashboardEnv } from './env.ts'

/** A page as a response. JSX escapes every text and attribute value it is given. */
export async function render(
  c: Context<DashboardEnv>,
  page: JSX.Element,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  return c.html(`<!doctype html>${String(await page)}`, status)
}

/** What every signed-in page's frame needs from the request. */
export function frameOf(c: Context<DashboardEnv>) {
  return {
    nonce: c.get('nonce'),
    csrf: c.get('csrf'),
    organization: c.get('organization')?.name,
    organizationId: c.get('organization')?.tenantId,
  }
}
