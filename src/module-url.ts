import { fileURLToPath } from 'node:url'

/**
 * Finding our own modules by path, from sources or from the build. In development and tests the
 * code runs from its TypeScript sources through tsx; `npm run build` compiles it to dist/ with
 * the same layout, where npm start and the container run it with no transpiler. A module that
 * names another (a worker thread's entry, a child process's main file) must name the file that
 * exists where it runs: `.ts` beside a `.ts`, `.js` beside a `.js`.
 */

/** Whether the module at `base` (its import.meta.url) runs from TypeScript source. */
export const isSource = (base: string) => /\.[cm]?ts$/.test(new URL(base).pathname)

/** The module at `path` (relative, without extension) beside `base`, with base's kind of file. */
export function moduleUrl(path: string, base: string): URL {
  return new URL(`${path}${isSource(base) ? '.ts' : '.js'}`, base)
}

/**
 * How to start `node` on the module at `path` beside `base`: tsx's loader first when we run from
 * source, none when compiled.
 */
export function nodeArgs(path: string, base: string): string[] {
  const file = fileURLToPath(moduleUrl(path, base))
  return isSource(base) ? ['--import', 'tsx', file] : [file]
}
