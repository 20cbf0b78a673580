import type { SsoProvider } from './sso-provider.ts'

type Requester = {
  request: (path: string, init?: RequestInit) => Response | Promise<Response>
}

export const PUBLIC_URL = 'http://keystash.test'

/** The `name=value` of the pre-login cookie a response sets, and its attributes. */
export function ssoCookieOf(res: Response): { pair: string; attributes: string } | undefined {
  for (const line of res.headers.getSetCookie()) {
    const [pair = '', ...rest] = line.split(';')
    if (/^(__Host-)?keystash_sso=./.test(pair))
      return { pair: pair.trim(), attributes: rest.join(';') }
  }
  return undefined
}

export interface Flow {
  cookie: string
  /** The callback URL the provider sent the browser to. */
  callback: URL
}

/** Start (API) and the provider's side of a sign-in, up to the redirect back. */
export async function startAndAuthorize(
  app: Requester,
  idp: SsoProvider,
  tenantId: string,
  sub: string,
): Promise<Flow> {
  const res = await app.request('/v1/auth/sso/start', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ organization: tenantId }),
  })
  if (res.status !== 200) throw new Error(`start: ${res.status} ${await res.text()}`)
  const { authorizationUrl } = (await res.json()) as { authorizationUrl: string }
  const cookie = ssoCookieOf(res)?.pair
  if (!cookie) throw new Error('start set no pre-login cookie')
  idp.loginAs(sub)
  return { cookie, callback: await idp.authorize(authorizationUrl) }
}

/** The browser arriving back at Keystash (JSON asked for, so failures are problems). */
export async function arrive(app: Requester, url: URL, cookie: string | undefined) {
  const res = await app.request(`${url.pathname}${url.search}`, {
    headers: { accept: 'application/json', ...(cookie ? { cookie } : {}) },
  })
  return { status: res.status, body: await res.text() }
}

export async function finish(app: Requester, cookie: string | undefined) {
  const res = await app.request('/v1/auth/sso/finish', {
    method: 'POST',
    headers: cookie ? { cookie } : {},
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** A whole sign-in through the API; the session token, or the first refusal. */
export async function signInWithSso(
  app: Requester,
  idp: SsoProvider,
  tenantId: string,
  sub: string,
): Promise<{ session?: string; status: number; code?: string }> {
  const flow = await startAndAuthorize(app, idp, tenantId, sub)
  const back = await arrive(app, flow.callback, flow.cookie)
  if (back.status !== 200) {
    return { status: back.status, code: JSON.parse(back.body).code as string }
  }
  const done = await finish(app, flow.cookie)
  if (done.status !== 200) return { status: done.status, code: done.body.code }
  return { status: 200, session: done.body.session.token as string }
}
