import type { Context } from 'hono'

/**
 * A posted form's fields. The body guard has already bounded and cached the body's text, so
 * calling this twice (CSRF check, then handler) reads it once.
 */
export async function formOf(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? ''
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams()
  }
  return new URLSearchParams(await c.req.text())
}

/** The page's script asks for JSON; a plain form post gets a page back. */
export const wantsJson = (c: Context): boolean =>
  (c.req.header('accept') ?? '').includes('application/json')

/** Splits a list typed into one field ("a, b c") into its entries. */
export const listField = (text: string | null): string[] =>
  (text ?? '').split(/[\s,]+/).filter((entry) => entry.length > 0)
