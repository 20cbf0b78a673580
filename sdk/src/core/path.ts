/**
 * Builds a request path from a template, encoding each interpolated value as one path segment:
 * path`/v1/keys/${ref}/value`. A value that would escape its segment after the URL parser
 * normalises it ('', '.', '..') is refused rather than sent to some other route.
 */
export function path(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    const segment = encodeURIComponent(String(value))
    if (segment === '' || segment === '.' || segment === '..') {
      throw new TypeError(`invalid path parameter ${JSON.stringify(String(value))}`)
    }
    out += segment + (strings[i + 1] ?? '')
  })
  return out
}
