export interface DotenvEntry {
  name: string
  value: string
  /** Where the entry starts, 1-based. */
  line: number
}

/** A syntax error. Its message names the line, never the line's text (it may hold a secret). */
export class DotenvError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`)
    this.name = 'DotenvError'
  }
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' }
const HEAD = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*/

/**
 * `.env` files as dotenv reads them: `NAME=value` lines, an optional `export ` prefix, blank
 * lines and `#` comments (whole-line, or after a space in an unquoted value). Values may be
 * double-quoted (multi-line; `\n \r \t \" \\` escapes), single-quoted or backquoted (multi-line,
 * literal). Unquoted values are trimmed. No `${VAR}` expansion. A name given twice: last wins,
 * as in the shell.
 */
export function parseDotenv(text: string): DotenvEntry[] {
  const src = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n')
  const entries = new Map<string, DotenvEntry>()
  let i = 0
  let line = 1

  const skipBlanks = () => {
    while (src[i] === ' ' || src[i] === '\t') i++
  }
  const endOfLine = () => {
    const end = src.indexOf('\n', i)
    return end === -1 ? src.length : end
  }

  function quoted(quote: string, start: number): string {
    let out = ''
    let j = i + 1
    for (; j < src.length && src[j] !== quote; j++) {
      let char = src[j] as string
      if (char === '\\' && quote === '"' && j + 1 < src.length) {
        const next = src[++j] as string
        char = ESCAPES[next] ?? `\\${next}`
        if (next === '\n') line++
      } else if (char === '\n') line++
      out += char
    }
    if (j >= src.length) throw new DotenvError(start, `the ${quote} quote is never closed`)
    i = j + 1
    skipBlanks()
    if (src[i] === '#') i = endOfLine()
    if (i < src.length && src[i] !== '\n') {
      throw new DotenvError(line, 'unexpected text after the closing quote')
    }
    return out
  }

  function unquoted(): string {
    const end = endOfLine()
    const raw = src.slice(i, end)
    i = end
    return raw.replace(/(^|[ \t])#.*$/, '').trim()
  }

  while (i < src.length) {
    const start = line
    skipBlanks()
    if (src[i] === '#') i = endOfLine()
    else if (i < src.length && src[i] !== '\n') {
      const head = HEAD.exec(src.slice(i, endOfLine()))
      if (!head) throw new DotenvError(start, 'expected NAME=value')
      i += head[0].length
      const quote = src[i]
      const value =
        quote === '"' || quote === "'" || quote === '`' ? quoted(quote, start) : unquoted()
      const name = head[1] as string
      entries.delete(name)
      entries.set(name, { name, value, line: start })
    }
    if (src[i] === '\n') {
      i++
      line++
    }
  }
  return [...entries.values()]
}
