/** Form posts and cookies against `app.request()`, as a browser would send them. */

type Requester = {
  request: (path: string, init?: RequestInit) => Response | Promise<Response>
}

export interface Browserish {
  cookie: string | undefined
  csrf: string | undefined
  origin: string
}

/** The `name=value` of the session cookie a response sets (empty value: cleared). */
export function sessionCookieOf(res: Response): { pair: string; attributes: string } | undefined {
  for (const line of res.headers.getSetCookie()) {
    const [pair = '', ...rest] = line.split(';')
    if (/^(__Host-)?keystash_session=/.test(pair)) {
      return { pair: pair.trim(), attributes: rest.join(';') }
    }
  }
  return undefined
}

export const csrfIn = (html: string): string | undefined =>
  /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1]

/** A session in `app.request()` terms: keeps the cookie and the page's CSRF token. */
export function dashboardAgent(app: Requester, origin = 'http://localhost') {
  const state: Browserish = { cookie: undefined, csrf: undefined, origin }
  const remember = (res: Response) => {
    const set = sessionCookieOf(res)
    if (set) state.cookie = set.pair.endsWith('=') ? undefined : set.pair
    return res
  }
  return {
    state,
    async get(path: string) {
      const res = remember(
        await app.request(path, { headers: state.cookie ? { cookie: state.cookie } : {} }),
      )
      const text = await res.text()
      state.csrf = csrfIn(text) ?? state.csrf
      return { res, text }
    },
    async post(
      path: string,
      fields: Record<string, string | string[]>,
      options: { csrf?: string | null; origin?: string | null; json?: boolean } = {},
    ) {
      const body = new URLSearchParams()
      const csrf = options.csrf === undefined ? state.csrf : options.csrf
      if (csrf) body.set('csrf', csrf)
      for (const [name, value] of Object.entries(fields)) {
        for (const v of Array.isArray(value) ? value : [value]) body.append(name, v)
      }
      const origin = options.origin === undefined ? state.origin : options.origin
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        ...(origin ? { origin } : {}),
        ...(state.cookie ? { cookie: state.cookie } : {}),
        ...(options.json ? { accept: 'application/json' } : {}),
      }
      const res = remember(await app.request(path, { method: 'POST', headers, body }))
      const text = await res.text()
      return { res, text }
    },
  }
}
