import { TrieRouter } from 'hono/router/trie-router'

interface RouteInfo {
  method: string
  path: string
}

/**
 * The methods a path answers to, read from the app's routes: the `Allow` of a 405. It is asked
 * only when a request matched no route, so the requests that do match pay nothing for it
 * (Hono's methodNotAllowed middleware, which this replaces, was a layer around every request).
 * Built on first use, when every route is registered.
 */
export function allowedMethods(app: { routes: readonly RouteInfo[] }): (path: string) => string[] {
  let router: TrieRouter<string[]> | undefined
  return (path) => {
    if (!router) {
      const byPath = new Map<string, Set<string>>()
      for (const route of app.routes) {
        // Middleware is registered as ALL; HEAD is answered by the GET route.
        if (route.method === 'ALL' || route.method === 'HEAD') continue
        const methods = byPath.get(route.path) ?? new Set<string>()
        methods.add(route.method)
        if (route.method === 'GET') methods.add('HEAD')
        byPath.set(route.path, methods)
      }
      router = new TrieRouter<string[]>()
      for (const [routePath, methods] of byPath) router.add('ALL', routePath, [...methods])
    }
    const allowed = new Set<string>()
    for (const [methods] of router.match('ALL', path)[0]) {
      for (const method of methods) allowed.add(method)
    }
    return [...allowed]
  }
}
